import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { userError } from './messages';

export interface TemplateFile {
  readonly path: string;
  readonly text: string;
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * The files the `templates` lines name, in the order of the lines, each once. A line is a file, a
 * folder (every *.yaml and *.yml inside it, recursively, sorted) or a glob, relative to `root` (task-lib's findMatch); a file a
 * glob matches is taken as it is, a folder it matches contributes its YAML files. Lines starting with `!`
 * exclude what they match from every other line. A line that matches nothing fails naming it.
 */
export function findTemplateFiles(lines: readonly string[], root: string): string[] {
  const exclusions = lines.filter((line) => line.startsWith('!'));
  const excludedPatterns = exclusions.map((line) => line.slice(1));
  const files = new Set<string>();
  for (const line of lines) {
    if (line.startsWith('!')) continue;
    const matched = tl
      .findMatch(root, [line, ...exclusions])
      .flatMap((match) => (fs.statSync(match).isDirectory() ? yamlFilesUnder(match) : [match]));
    // findMatch applies the exclusions to what a line matches, not to the files inside a matched folder.
    const excluded = new Set(excludedPatterns.length === 0 ? [] : tl.match(matched, excludedPatterns, root));
    const kept = matched.filter((file) => !excluded.has(file));
    // A folder without YAML files matches nothing a user meant to deploy.
    if (kept.length === 0) throw userError('TemplateMatchedNothing', line, root);
    for (const file of kept) files.add(file);
  }
  return [...files];
}

export function readTemplateFiles(files: readonly string[]): TemplateFile[] {
  return files.map((file) => ({ path: file, text: fs.readFileSync(file, 'utf8') }));
}

function yamlFilesUnder(folder: string): string[] {
  const found: string[] = [];
  const entries = fs.readdirSync(folder, { withFileTypes: true });
  // Code-point order, not the locale's, so a run on any agent applies files in the same order.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...yamlFilesUnder(full));
    else if (entry.isFile() && YAML_FILE.test(entry.name)) found.push(full);
  }
  return found;
}
