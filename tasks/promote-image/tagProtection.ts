/** What happens to one target tag. */
export interface TagDecision {
  readonly tag: string;
  /** The digest the tag points at in the target now; undefined when the tag does not exist. */
  readonly current: string | undefined;
  /** `create`: new tag; `keep`: already the promoted digest, nothing to write; `move`: overwrite allowed. */
  readonly action: 'create' | 'keep' | 'move';
}

export interface TagConflict {
  readonly tag: string;
  readonly current: string;
  readonly promoted: string;
}

export type TagProtectionResult =
  | { readonly ok: true; readonly decisions: readonly TagDecision[] }
  | { readonly ok: false; readonly conflicts: readonly TagConflict[] };

/**
 * Decides, before anything is written, what each target tag needs. A tag already at the promoted
 * digest needs nothing (a re-run is a no-op); a tag at another digest is moved only with
 * `overwrite`, and without it every such tag is reported, so the author fixes them all at once.
 */
export function decideTags(
  tags: readonly string[],
  currentDigests: ReadonlyMap<string, string | undefined>,
  promoted: string,
  overwrite: boolean,
): TagProtectionResult {
  const decisions: TagDecision[] = [];
  const conflicts: TagConflict[] = [];
  for (const tag of tags) {
    const current = currentDigests.get(tag);
    if (current === undefined) decisions.push({ tag, current, action: 'create' });
    else if (current === promoted) decisions.push({ tag, current, action: 'keep' });
    else if (overwrite) decisions.push({ tag, current, action: 'move' });
    else conflicts.push({ tag, current, promoted });
  }
  return conflicts.length > 0 ? { ok: false, conflicts } : { ok: true, decisions };
}
