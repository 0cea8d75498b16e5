// A stand-in for the kubectl binary in L0 runs, found on PATH through the wrapper installFakeKubectl
// writes: answers connectToCluster's `version --client`, records every other call in FAKE_KUBECTL_DIR
// and answers it from the script there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CALLS_FILE,
  SCRIPT_FILE,
  callKey,
  defaultStdout,
  isLookup,
  lookupKeys,
  printedObjects,
  recordedCalls,
  type KubectlScript,
  type ScriptedAnswer,
} from './kubectlScript';

const directory = process.env['FAKE_KUBECTL_DIR'] ?? '';
const argv = process.argv.slice(2);
if (argv[0] === 'version') {
  process.stdout.write(JSON.stringify({ clientVersion: { gitVersion: 'v1.32.4' } }));
  process.exit(0);
}
// The task passes --kubeconfig <path> --request-timeout=<n>s before every command.
const kubeconfig = argv[1];
const args = argv.slice(3);
const script = JSON.parse(fs.readFileSync(path.join(directory, SCRIPT_FILE), 'utf8')) as KubectlScript;
const filename = args.indexOf('--filename');
const file = filename < 0 ? undefined : fs.readFileSync(args[filename + 1] ?? '', 'utf8');
const keysOf = (call: { args: readonly string[]; file?: string }): string[] =>
  isLookup(call.args) ? lookupKeys(call.file ?? '') : [callKey(call.args)];
const earlierCalls = recordedCalls(directory);
fs.appendFileSync(
  path.join(directory, CALLS_FILE),
  `${JSON.stringify({ args, file, kubeconfig, kubeconfigExists: fs.existsSync(kubeconfig ?? '') })}\n`,
);

/** The answer to the call key's next use: each use takes the next scripted answer, the last repeating. */
function answerFor(key: string): ScriptedAnswer {
  const earlier = earlierCalls.filter((call) => keysOf(call).includes(key)).length;
  const answers = script.answers[key] ?? [];
  return answers[Math.min(earlier, answers.length - 1)] ?? {};
}

if (isLookup(args)) {
  // Each object answers as a get of it would; kubectl prints those it found.
  const stdouts = lookupKeys(file ?? '').map((key) => {
    const answer = answerFor(key);
    return answer === 'hang' ? '' : (answer.stdout ?? '');
  });
  process.stdout.write(printedObjects(stdouts));
} else {
  const answer = answerFor(callKey(args));
  if (answer === 'hang') {
    setTimeout(() => undefined, 120_000);
  } else {
    process.stdout.write(answer.stdout ?? defaultStdout(args));
    process.stderr.write(answer.stderr ?? '');
    process.exitCode = answer.code ?? 0;
  }
}
