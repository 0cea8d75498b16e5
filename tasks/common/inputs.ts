import * as tl from 'azure-pipelines-task-lib/task';
import { userError } from './messages';
import { withoutEcho } from './taskLibEcho';
import { ImageReferenceError, parseImageReference, type ImageReference } from './imageReference';

/**
 * Typed readers over task-lib's inputs. `Name` is the union of a task's input names, so a misspelt
 * input fails to compile. Every failure is a UserError naming the input and what was expected.
 */
export class InputReader<Name extends string> {
  /** The trimmed value, or undefined when the input is empty or absent. */
  optional(name: Name): string | undefined {
    const value = tl.getInput(name, false)?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /**
   * The whole value as given, blank lines and spaces included ('' when absent): for line numbers. For
   * an input that may carry credentials (a header, a URL with a key, a variable's value): task-lib's
   * getInput writes every value it reads to the debug log, before the task could register it.
   */
  credentialText(name: Name): string {
    return withoutEcho(() => tl.getInput(name, false)) ?? '';
  }

  /** As `optional`, without task-lib's debug echo (see credentialText). */
  credentialOptional(name: Name): string | undefined {
    const value = this.credentialText(name).trim();
    return value === '' ? undefined : value;
  }

  required(name: Name): string {
    const value = this.optional(name);
    if (value === undefined) {
      throw userError('InputRequired', name);
    }
    return value;
  }

  boolean(name: Name, defaultValue: boolean): boolean {
    const value = this.optional(name);
    if (value === undefined) return defaultValue;
    switch (value.toLowerCase()) {
      case 'true':
        return true;
      case 'false':
        return false;
      default:
        throw userError('InputInvalidBoolean', name, value);
    }
  }

  integer(name: Name, defaultValue: number, range: { min: number; max: number }): number {
    const value = this.optional(name);
    if (value === undefined) return defaultValue;
    if (!/^[+-]?\d+$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
      throw userError('InputInvalidInteger', name, range.min, range.max, value);
    }
    return Number(value);
  }

  choice<Choice extends string>(name: Name, allowed: readonly Choice[], defaultValue: Choice): Choice {
    const value = this.optional(name);
    if (value === undefined) return defaultValue;
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match === undefined) {
      throw userError('InputInvalidChoice', name, allowed.join(', '), value);
    }
    return match;
  }

  /** Non-empty trimmed lines of a multi-line input. */
  lines(name: Name): string[] {
    return splitLines(this.optional(name) ?? '');
  }

  /** Items separated by commas or new lines, trimmed, empty ones dropped. */
  list(name: Name): string[] {
    return (this.optional(name) ?? '')
      .split(/[,\r\n]+/)
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  /**
   * A file or folder path input. The agent passes the default working directory for an empty
   * `filePath` input, so "supplied" is task-lib's notion, not "non-empty".
   */
  path(name: Name): string | undefined {
    if (!tl.filePathSupplied(name)) return undefined;
    return this.optional(name);
  }
}

export function splitLines(text: string): string[] {
  return numberedLines(text).map((line) => line.text);
}

export interface NumberedLine {
  /** 1-based, blank lines counted: the number the user sees in the input. */
  readonly number: number;
  readonly text: string;
}

/** The non-empty lines of a multi-line input, trimmed, each with its line number. */
export function numberedLines(text: string): NumberedLine[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ number: index + 1, text: line.trim() }))
    .filter((line) => line.text !== '');
}

/** An image reference given in input `inputName`; a malformed one fails naming the input and the part. */
export function imageReferenceInput(inputName: string, text: string): ImageReference {
  try {
    return parseImageReference(text);
  } catch (error: unknown) {
    if (error instanceof ImageReferenceError)
      throw userError('InputInvalidImageReference', inputName, error.message);
    throw error;
  }
}
