import * as assert from 'node:assert/strict';
import { chooseAuthMethod, challengeScopes, parseChallenges } from '../../tasks/promote-image/challenge';

const ACR =
  'Bearer realm="https://contosoprod.azurecr.io/oauth2/token",service="contosoprod.azurecr.io",scope="repository:team/web:pull,push repository:team/base:pull"';
const DOCKER_HUB =
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull",error="insufficient_scope"';
const GHCR = 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:octo/app:pull"';
const HTPASSWD = 'Basic realm="Registry Realm"';

describe('PromoteImage registry challenge', () => {
  describe('parseChallenges', () => {
    it('reads an ACR challenge with two scopes in one parameter', () => {
      assert.deepEqual(parseChallenges(ACR), [
        {
          scheme: 'bearer',
          parameters: {
            realm: 'https://contosoprod.azurecr.io/oauth2/token',
            service: 'contosoprod.azurecr.io',
            scope: 'repository:team/web:pull,push repository:team/base:pull',
          },
        },
      ]);
    });

    it("reads Docker Hub's challenge with its error parameter", () => {
      assert.deepEqual(parseChallenges(DOCKER_HUB)[0]?.parameters, {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/ubuntu:pull',
        error: 'insufficient_scope',
      });
    });

    it('reads several challenges in one header, unquoted values and escaped quotes', () => {
      assert.deepEqual(
        parseChallenges('Basic realm="say \\"hi\\", please", Bearer realm=https://x.example/token'),
        [
          { scheme: 'basic', parameters: { realm: 'say "hi", please' } },
          { scheme: 'bearer', parameters: { realm: 'https://x.example/token' } },
        ],
      );
    });

    it('reads no challenge from an absent or empty header', () => {
      assert.deepEqual(parseChallenges(undefined), []);
      assert.deepEqual(parseChallenges(''), []);
    });
  });

  describe('chooseAuthMethod', () => {
    it("uses ACR's token exchange for a realm on the ACR login server", () => {
      assert.deepEqual(chooseAuthMethod(parseChallenges(ACR), 'contosoprod.azurecr.io'), {
        kind: 'acr',
        realm: 'https://contosoprod.azurecr.io/oauth2/token',
        service: 'contosoprod.azurecr.io',
        exchangeUrl: 'https://contosoprod.azurecr.io/oauth2/exchange',
      });
    });

    it('recognises ACR in the China and US Government clouds', () => {
      const china = 'Bearer realm="https://contoso.azurecr.cn/oauth2/token",service="contoso.azurecr.cn"';
      assert.equal(chooseAuthMethod(parseChallenges(china), 'contoso.azurecr.cn').kind, 'acr');
      const usgov = 'Bearer realm="https://contoso.azurecr.us/oauth2/token",service="contoso.azurecr.us"';
      assert.equal(chooseAuthMethod(parseChallenges(usgov), 'contoso.azurecr.us').kind, 'acr');
    });

    it("uses Docker Hub's and GHCR's own token endpoints", () => {
      assert.deepEqual(chooseAuthMethod(parseChallenges(DOCKER_HUB), 'registry-1.docker.io'), {
        kind: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
      });
      assert.deepEqual(chooseAuthMethod(parseChallenges(GHCR), 'ghcr.io'), {
        kind: 'bearer',
        realm: 'https://ghcr.io/token',
        service: 'ghcr.io',
      });
    });

    it('does not send an Entra token to an ACR-shaped realm on another host', () => {
      const elsewhere = 'Bearer realm="https://evil.example/oauth2/token",service="contosoprod.azurecr.io"';
      assert.equal(chooseAuthMethod(parseChallenges(elsewhere), 'contosoprod.azurecr.io').kind, 'bearer');
    });

    it('uses Basic for a Basic-only challenge and nothing without a challenge', () => {
      assert.deepEqual(chooseAuthMethod(parseChallenges(HTPASSWD), 'registry.contoso.example'), {
        kind: 'basic',
      });
      assert.deepEqual(chooseAuthMethod([], 'registry.contoso.example'), { kind: 'anonymous' });
    });
  });

  it('lists the scopes a Bearer challenge asks for', () => {
    assert.deepEqual(challengeScopes(parseChallenges(ACR)), [
      'repository:team/web:pull,push',
      'repository:team/base:pull',
    ]);
    assert.deepEqual(challengeScopes(parseChallenges(HTPASSWD)), []);
  });
});
