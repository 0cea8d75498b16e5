import { assertFailedWith, runL0, type L0Scenario } from '../support/l0';
import { servicePrincipalEndpoint } from '../support/fixtures';

const SOURCE = 'nonprod-connection';
const TARGET = 'prod-connection';
const DIGEST = `sha256:${'0'.repeat(64)}`;

function scenario(inputs: Record<string, string>): L0Scenario {
  return {
    task: 'promote-image',
    inputs: {
      sourceAzureSubscription: SOURCE,
      sourceRegistry: 'contosononprod.azurecr.io',
      image: 'team/web:1.4.2',
      targetRegistry: 'contosoprod.azurecr.io',
      ...inputs,
    },
    endpoints: { [SOURCE]: servicePrincipalEndpoint(), [TARGET]: servicePrincipalEndpoint() },
  };
}

describe('PromoteImage inputs (L0)', () => {
  const failures: [string, Record<string, string>, string][] = [
    [
      'no source connection is chosen',
      { sourceAzureSubscription: '' },
      'loc_mock_InputRequired sourceAzureSubscription',
    ],
    [
      'the target connection does not exist',
      { targetAzureSubscription: 'missing' },
      'loc_mock_ConnectionNotFound targetAzureSubscription missing',
    ],
    ['no image is given', { image: '' }, 'loc_mock_InputRequired image'],
    [
      'the image has neither tag nor digest',
      { image: 'team/web' },
      'loc_mock_ImageNeedsTagOrDigest team/web',
    ],
    [
      'the image names another registry',
      { image: 'other.azurecr.io/team/web:1' },
      'loc_mock_ImageRegistryMismatch other.azurecr.io/team/web:1 contosononprod.azurecr.io',
    ],
    [
      'the source registry is not a host name',
      { sourceRegistry: 'contoso nonprod' },
      'loc_mock_InvalidRegistry sourceRegistry contoso nonprod',
    ],
    ['a target tag is invalid', { targetTags: '1.4.2\n-bad' }, 'loc_mock_InvalidTargetTag -bad'],
    ['a target tag repeats', { targetTags: 'prod\nprod' }, 'loc_mock_DuplicateTargetTag'],
    [
      'the target repository is invalid',
      { targetRepository: 'Team/Web' },
      'loc_mock_InvalidTargetRepository Team/Web',
    ],
    ['the method is unknown', { method: 'mirror' }, 'loc_mock_InputInvalidChoice method copy, import mirror'],
    [
      'the image reference is malformed',
      { image: 'team/web:1@sha256:xyz' },
      "loc_mock_InputInvalidImageReference image 'team/web:1@sha256:xyz' has an invalid digest 'sha256:xyz': expected sha256: followed by 64 lower-case hex digits",
    ],
  ];
  for (const [what, inputs, expected] of failures) {
    it(`fails naming the input when ${what}`, async () => {
      assertFailedWith(await runL0(scenario(inputs)), expected);
    });
  }

  it('accepts a digest with its own registry prefix and a second connection, and hands them to the promotion', async () => {
    // lockTags towards a registry that is not an ACR is the promotion's first check, made before
    // any request: reaching it shows every input above was accepted.
    const result = await runL0(
      scenario({
        image: `contosononprod.azurecr.io/team/web@${DIGEST}`,
        targetAzureSubscription: TARGET,
        targetRegistry: 'registry.contoso.example',
        targetTags: 'prod\n1.4.2',
        method: 'import',
        lockTags: 'true',
      }),
    );
    assertFailedWith(result, 'loc_mock_PromoteLockNeedsAcr registry.contoso.example');
  });
});
