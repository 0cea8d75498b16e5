import {
  LineCounter,
  parseAllDocuments,
  parseDocument,
  stringify,
  visit,
  type Document,
  type DocumentOptions,
  type ScalarTag,
  type SchemaOptions,
} from 'yaml';
import { userError } from './messages';
import type { ImageReference } from '../common/imageReference';
import { annotateManifests, type RunInfo } from './annotations';
import { applyImageOverrides, type ImageOverrideResult } from './images';
import { isJsonObject, type KubernetesObject, type Manifest, type ManifestSource } from './kubernetesObject';
import { placeNamespaces, type NamespacePlan } from './namespaces';
import type { TemplateFile } from './templates';
import { replaceTokens } from './tokens';

/**
 * kubectl reads YAML as go-yaml v2 does: YAML 1.1 booleans (`on`, `yes`), timestamps kept as strings,
 * no base-60 numbers, and numbers as goYamlNumber says. We read and write with the same rules, so
 * that a value means in the cluster what it meant in the template, and a string that kubectl would
 * read as a number ("0644", "1e3", "0o17") is written back quoted.
 */
const KUBECTL_YAML: DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) => {
    const kept = tags.filter(
      (tag) =>
        !(
          typeof tag === 'object' &&
          (tag.tag === 'tag:yaml.org,2002:timestamp' ||
            tag.tag === INT_TAG ||
            (tag.tag === FLOAT_TAG && tag.test?.test('.nan') !== true))
        ),
    );
    const scalarTag = (tag: string): ScalarTag | undefined =>
      tags.find(
        (candidate): candidate is ScalarTag =>
          typeof candidate === 'object' &&
          candidate.collection === undefined &&
          candidate.tag === tag &&
          candidate.format === undefined,
      );
    const int = scalarTag(INT_TAG);
    const float = scalarTag(FLOAT_TAG);
    if (int === undefined || float === undefined) return tags;
    return [
      ...kept,
      { ...int, test: GO_YAML_INT, resolve: (text: string) => goYamlInt(text) },
      { ...float, test: GO_YAML_FLOAT, resolve: (text: string) => goYamlFloat(text) },
    ];
  },
};

const INT_TAG = 'tag:yaml.org,2002:int';
const FLOAT_TAG = 'tag:yaml.org,2002:float';

// go-yaml v2 tells a plain scalar's type by its first character (resolve.go). A sign or a digit: the
// text without its `_`s is an int when Go's ParseInt(text, 0) takes it (0x, 0o, 0b, 0-octal,
// decimal), else a float when it matches `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
// A `.`: a float when Go's ParseFloat takes it, `_` only between digits. Anything else (`e1`, `_1`,
// `._5`) is a string. The expressions below are those, with the `_`s left in.
const GO_YAML_INT =
  /^(?=[-+0-9])[-+]?_*(?:0_*[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0_*[bB]_*[01][01_]*|0_*[oO]_*[0-7][0-7_]*|0[0-7_]*|[1-9][0-9_]*)$/;
const GO_YAML_FLOAT =
  /^(?:(?=[-+0-9])[-+]?_*(?:\._*[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE](?:_*[-+])?_*[0-9][0-9_]*)?|\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?)$/;

/**
 * The value of a scalar GO_YAML_INT matched, as Go's ParseInt (or ParseUint) with base 0 reads it. One
 * they refuse as out of 64-bit range is a float when it is decimal (go-yaml's float pattern takes it)
 * and stays text with a 0x, 0o or 0b prefix or a leading 0.
 */
function goYamlInt(text: string): number | string {
  const plain = text.replace(/_/g, '');
  const negative = plain.startsWith('-');
  const digits = plain.replace(/^[-+]/, '');
  const prefixed = /^0[xXbBoO]/.test(digits) ? `0${digits[1]?.toLowerCase()}${digits.slice(2)}` : undefined;
  const octal = prefixed === undefined && /^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : undefined;
  const magnitude = BigInt(prefixed ?? octal ?? digits);
  const value = negative ? -magnitude : magnitude;
  if (value >= INT64_MIN && value <= UINT64_MAX) return Number(value);
  return prefixed === undefined && octal === undefined ? Number(plain) : text;
}

/** A float GO_YAML_FLOAT matched; one beyond float64's range stays text, as Go's ParseFloat refuses it. */
function goYamlFloat(text: string): number | string {
  const value = Number(text.replace(/_/g, ''));
  return Number.isFinite(value) ? value : text;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Aliases beyond this many in one document are refused, so a "billion laughs" file cannot hang the agent. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses one rendered template into manifests: empty documents dropped, `kind: List` items taken
 * one by one. An error names the file and line; `secretValues` are masked out of the parser's reason,
 * which may quote the text it choked on.
 */
export function parseManifests(text: string, file: string, secretValues: readonly string[] = []): Manifest[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { ...KUBECTL_YAML, lineCounter });
  const manifests: Manifest[] = [];
  // An empty stream parses to an EmptyStream, not a list.
  const list = Array.isArray(documents) ? documents : [];
  list.forEach((document, index) => {
    const documentNumber = index + 1;
    const error = document.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line;
      throw userError('TemplateInvalidYaml', file, line, parserReason(error.message, secretValues));
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (aliasError: unknown) {
      // Only aliases fail here (undefined, or too many): name the line of the first one.
      const line = lineCounter.linePos(firstAliasOffset(document) ?? document.range[0]).line;
      const reason = aliasError instanceof Error ? aliasError.message : String(aliasError);
      throw userError('TemplateInvalidYaml', file, line, parserReason(reason, secretValues));
    }
    if (value === null || value === undefined) return;
    const source = { file, document: documentNumber };
    if (isJsonObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, itemIndex) => {
        const itemSource = { ...source, item: itemIndex + 1 };
        manifests.push({ source: itemSource, object: checkObject(item, itemSource) });
      });
    } else {
      manifests.push({ source, object: checkObject(value, source) });
    }
  });
  return manifests;
}

function firstAliasOffset(document: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(document, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** One multi-document YAML string of the objects, as kubectl will read it. */
/** What kubectl reads `text` as when it stands alone as a plain scalar: `0644` is 420, `on` is true. */
export function plainScalarValue(text: string): unknown {
  const document = parseDocument(text, KUBECTL_YAML);
  return document.errors.length > 0 ? text : (document.toJS() as unknown);
}

export function serializeManifests(manifests: readonly Manifest[]): string {
  return manifests
    .map(({ object }) =>
      // No anchors for repeated values, no folding of long lines, and the quotes our own YAML uses
      // (Prettier's): the file is for people to read.
      stringify(object, { ...KUBECTL_YAML, aliasDuplicateObjects: false, lineWidth: 0, singleQuote: true }),
    )
    .join('---\n');
}

export interface RenderRequest {
  readonly templates: readonly TemplateFile[];
  readonly variables: ReadonlyMap<string, string>;
  readonly images: readonly ImageReference[];
  readonly namespace: string;
  /** The run to annotate objects with; undefined when `annotate` is false. */
  readonly run: RunInfo | undefined;
}

export interface RenderedManifests {
  readonly manifests: Manifest[];
  readonly images: ImageOverrideResult[];
  readonly namespaces: Omit<NamespacePlan, 'manifests'>;
  /** What will be applied, one multi-document YAML string. */
  readonly yaml: string;
}

/**
 * Everything that happens before the cluster is touched: tokens, parsing, image overrides,
 * namespaces, annotations. Any error here is a UserError, and nothing has reached the cluster.
 */
export function renderManifests(request: RenderRequest): RenderedManifests {
  const secretValues = [...request.variables.values()];
  const parsed = request.templates.flatMap((template) =>
    parseManifests(
      replaceTokens(template.text, request.variables, template.path),
      template.path,
      secretValues,
    ),
  );
  if (parsed.length === 0) throw userError('TemplatesHoldNoObjects', request.templates.length);
  const withImages = applyImageOverrides(parsed, request.images);
  const { manifests: placed, ...namespaces } = placeNamespaces(withImages.manifests, request.namespace);
  const annotated = request.run === undefined ? placed : annotateManifests(placed, request.run);
  const manifests = definitionsFirst(annotated);
  return { manifests, images: withImages.results, namespaces, yaml: serializeManifests(manifests) };
}

/**
 * Namespaces, then CustomResourceDefinitions, then everything else, each in template order: kubectl
 * applies in the order it reads, and an object cannot be created before its namespace.
 */
function definitionsFirst(manifests: readonly Manifest[]): Manifest[] {
  const rank = ({ object }: Manifest): number =>
    object.kind === 'Namespace' && object.apiVersion === 'v1'
      ? 0
      : object.kind === 'CustomResourceDefinition' && object.apiVersion.startsWith('apiextensions.k8s.io/')
        ? 1
        : 2;
  // Array.prototype.sort is stable, so the template order holds within each rank.
  return [...manifests].sort((a, b) => rank(a) - rank(b));
}

function checkObject(value: unknown, source: ManifestSource): KubernetesObject {
  const missing = missingField(value);
  if (missing === undefined) return value as KubernetesObject;
  if (source.item === undefined)
    throw userError('ManifestMissingField', source.file, source.document, missing);
  throw userError('ListItemMissingField', source.file, source.document, source.item, missing);
}

/** The first field the API server needs to address the object that it lacks, if any. */
function missingField(value: unknown): string | undefined {
  if (!isJsonObject(value)) return 'kind';
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return 'apiVersion';
  if (typeof value.kind !== 'string' || value.kind === '') return 'kind';
  const { metadata } = value;
  if (!isJsonObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    return 'metadata.name';
  }
  return undefined;
}

/**
 * The parser's first line without its " at line X, column Y:" tail (the line is reported apart) and
 * with every variable value masked, whole or in part: the reason may quote rendered text, and the
 * parser may quote a value without its first character (an alias `*value` is quoted as `value`),
 * which the agent's masking, of whole values only, would let through.
 */
function parserReason(message: string, secretValues: readonly string[]): string {
  const reason = (message.split('\n')[0] ?? '')
    .replace(/ at line \d+, column \d+:?$/, '')
    .trim()
    .slice(0, MAX_REASON_LENGTH);
  return maskedRuns(reason, secretValues);
}

const MAX_REASON_LENGTH = 300;
/** The shortest part of a value that is masked on its own: shorter runs are as likely ordinary text. */
const MIN_FRAGMENT_LENGTH = 4;

/**
 * `text` with every occurrence of each value, and every run of MIN_FRAGMENT_LENGTH or more characters
 * it shares with a value at least that long, as `***`. The runs are marked on the text as given and
 * replaced once at the end, so a `***` written never meets a value again (a value may be `*`).
 */
function maskedRuns(text: string, values: readonly string[]): string {
  const masked = new Array<boolean>(text.length).fill(false);
  for (const value of values) {
    if (value === '') continue;
    for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1))
      masked.fill(true, at, at + value.length);
  }
  for (const value of values) {
    if (value.length < MIN_FRAGMENT_LENGTH) continue;
    for (;;) {
      const run = longestCommonRun(text, value, masked);
      if (run.length < MIN_FRAGMENT_LENGTH) break;
      masked.fill(true, run.start, run.start + run.length);
    }
  }
  let result = '';
  for (let i = 0; i < text.length; i++) {
    if (!masked[i]) result += text[i];
    else if (i === 0 || !masked[i - 1]) result += '***';
  }
  return result;
}

/**
 * The longest run of characters `text` shares with `other`, by its place in `text`, leaving out the
 * characters of `text` already masked (dynamic programming over both strings).
 */
function longestCommonRun(
  text: string,
  other: string,
  masked: readonly boolean[],
): { start: number; length: number } {
  let best = { start: 0, length: 0 };
  let previous = new Array<number>(other.length + 1).fill(0);
  for (let i = 1; i <= text.length; i++) {
    const current = new Array<number>(other.length + 1).fill(0);
    if (!masked[i - 1]) {
      for (let j = 1; j <= other.length; j++) {
        if (text[i - 1] !== other[j - 1]) continue;
        const length = (previous[j - 1] ?? 0) + 1;
        current[j] = length;
        if (length > best.length) best = { start: i - length, length };
      }
    }
    previous = current;
  }
  return best;
}
