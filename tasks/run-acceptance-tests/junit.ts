import { inertLine } from '../common/logText';
import * as fs from 'node:fs';
import * as path from 'node:path';
import junitReportBuilder from 'junit-report-builder';
import { userError } from './messages';
import { describeFailure } from './expectations';
import { formatSeconds } from './httpClient';
import type { CheckResult } from './runChecks';

export interface JunitOptions {
  /** The testsuite's name and each testcase's class name. */
  readonly suiteName: string;
  readonly timestamp: Date;
}

/** The checks' results as JUnit XML: one testsuite, one testcase per check. */
export function checksJunitXml(results: readonly CheckResult[], options: JunitOptions): string {
  const builder = junitReportBuilder.newBuilder();
  const suite = builder
    .testSuite()
    .name(xmlSafe(options.suiteName))
    .timestamp(options.timestamp)
    .time(results.reduce((total, r) => total + r.durationMs, 0) / 1000);
  for (const result of results) {
    const testCase = suite
      .testCase()
      .className(xmlSafe(options.suiteName))
      .name(xmlSafe(result.name))
      .time(result.durationMs / 1000);
    if (!result.passed) {
      const requestError = result.failures.some((f) => f.what === 'response');
      testCase
        .failure(
          xmlSafe(result.failures.map(describeFailure).join('; ')),
          requestError ? 'RequestError' : 'ExpectationFailed',
        )
        .stacktrace(xmlSafe(failureDetail(result)));
    }
  }
  return builder.build();
}

/** Writes the checks' JUnit file, creating its folder. */
export function writeChecksJunit(
  filePath: string,
  results: readonly CheckResult[],
  options: JunitOptions,
): void {
  fs.mkdirSync(path.dirname(filePath), { recursive: true });
  fs.writeFileSync(filePath, checksJunitXml(results, options), 'utf8');
}

/** The body of a failure: the request, each expected-vs-actual line, and the response excerpt. */
export function failureDetail(result: CheckResult): string {
  const lines = [
    `${result.method} ${result.url} (${result.attempts} ${result.attempts === 1 ? 'attempt' : 'attempts'})`,
    ...result.failures.map(describeFailure),
  ];
  if (result.excerpt !== undefined)
    lines.push(`Response body: ${result.excerpt === '' ? '(empty)' : result.excerpt}`);
  return lines.join('\n');
}

/**
 * Properties of the one `##vso[results.publish]` command that publishes the checks' file and the command's
 * JUnit files as one test run. The agent splits `resultFiles` at commas, so a path holding one is refused.
 */
export function publishCommandProperties(
  resultFiles: readonly string[],
  runTitle: string,
): Record<string, string> {
  const withComma = resultFiles.find((file) => file.includes(','));
  if (withComma !== undefined) throw userError('JunitFileHasComma', withComma);
  return {
    type: 'JUnit',
    mergeResults: 'true',
    runTitle,
    resultFiles: resultFiles.join(','),
    publishRunAttachments: 'true',
    failTaskOnFailedTests: 'false',
    testRunSystem: 'VSTSTask',
  };
}

/** A markdown summary for `##vso[task.uploadsummary]`: a table of the checks, then each failure. */
export function summaryMarkdown(results: readonly CheckResult[], title: string): string {
  const failed = results.filter((r) => !r.passed);
  const lines = [
    `### ${markdownText(title)}: ${results.length - failed.length} passed, ${failed.length} failed`,
    '',
    '| Check | Result | Attempts | Time |',
    '|---|---|---:|---:|',
    ...results.map(
      (r) =>
        `| ${markdownText(r.name)} | ${r.passed ? 'Passed' : '**Failed**'} | ${r.attempts} | ${formatSeconds(r.durationMs)} |`,
    ),
  ];
  if (failed.length > 0) {
    lines.push('', '#### Failures', '');
    for (const result of failed) {
      lines.push(
        `- **${markdownText(result.name)}**: ${markdownText(result.failures.map(describeFailure).join('; '))}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Aligned plain-text lines for the log: check, result, attempts, time. */
export function summaryTable(results: readonly CheckResult[]): string[] {
  const rows = [
    ['Check', 'Result', 'Attempts', 'Time'],
    ...results.map((r) => [
      inertLine(r.name),
      r.passed ? 'passed' : 'FAILED',
      String(r.attempts),
      formatSeconds(r.durationMs),
    ]),
  ];
  const widths = [0, 1, 2, 3].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** Characters XML 1.0 cannot hold at all (a response body may have any byte). */
function xmlSafe(text: string): string {
  return text.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
}

/** Text that stays text in a markdown table cell: no pipes, no HTML, one line. */
function markdownText(text: string): string {
  return inertLine(text)
    .replace(/[\\`*_[\]|<>]/g, (character) => `\\${character}`)
    .replace(/&/g, '&amp;');
}
