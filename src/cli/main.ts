/**
 * The composition root: parses arguments, wires adapters into the modules, owns the root
 * AbortController and signal handling, and turns every error into an exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { BenchyardError, ConfigError, errorMessage, formatDiagnostic, redact } from '../core/index.js';
import { matrixJsonSchema } from '../config/index.js';
import { escapeControl, escapeControlKeepLines } from '../report/terminal-text.js';
import { terminalWidth } from '../report/fit.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { stderrLogger } from './logger.js';
import { VERSION } from './paths.js';

export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  let command = '';
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    // `plan` holds nothing to clean up: whatever it waits for (an engine, nvidia-smi), it ends now.
    if (command === 'plan') {
      process.stderr.write(`\n${sig}: plan cancelled\n`);
      process.exit(EXIT.cancelled);
    }
    process.stderr.write(
      `\n${sig}: ${
        command === 'serve'
          ? 'stopping the server'
          : 'cancelling — stopping containers and releasing machines'
      } (again to exit at once)\n`,
    );
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that went away (a closed pipe, `| head`, a CI runner that closed the log pipe
  // before its SIGTERM, as Node's execFile does on a timeout) must never end the process
  // mid-cleanup: what cannot be written is dropped, and the machines are still released.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  // A throw nobody awaits (a timer, a stream handler) would end the process with Node's
  // exit 1, which CI reads as a failed benchmark: it is benchyard's failure, exit 3.
  const onUncaught = (err: unknown) => {
    process.stderr.write(
      `internal error: ${errorMessage(err)}\n${err instanceof Error ? (err.stack ?? '') : ''}\n`,
    );
    process.exit(EXIT.infrastructure);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const ci = process.env.CI === 'true' || process.env.CI === '1';
  let verbose = false;
  const io = (): CliIo => ({
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    interactive: Boolean(process.stderr.isTTY) && !ci,
    columns: terminalWidth(process.stdout, process.env),
    logger: stderrLogger(verbose ? 'debug' : 'warn'),
    signal: controller.signal,
  });

  const wideOption = () =>
    new Option('--wide', "print tables at full width instead of fitting them to the terminal's");
  const stateOption = () =>
    new Option('--state <dir>', 'folder of the embedded store').default('.benchyard').env('BENCHYARD_STATE');
  const program = new Command('benchyard')
    .description(
      'Heterogeneous hardware benchmarking: one YAML matrix of machines × benchmark containers × parameters',
    )
    .version(VERSION)
    .option('-v, --verbose', 'log debug detail to stderr')
    .hook('preAction', (cmd, action) => {
      verbose = Boolean(cmd.opts().verbose);
      command = action.name();
    })
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('plan')
    .description('expand a matrix into cells and print them (no side effects)')
    .argument('<matrix>', 'matrix YAML file')
    .option('--json', 'print the plan as JSON')
    .addOption(wideOption())
    .action(async (matrix: string, opts) =>
      (await import('./commands/plan.js')).planCommand(matrix, opts, io()),
    );
  program
    .command('run')
    .description('run every cell of a matrix and store the results')
    .argument('<matrix>', 'matrix YAML file')
    .addOption(stateOption())
    .option('--es <url>', 'also write to this Elasticsearch (overrides store.elasticsearch.url)')
    .option('--junit <file>', 'write JUnit XML: one testcase per cell')
    .option(
      '--baseline <run>',
      "gate against a stored run: its id, 'latest-passing', or a tag (the latest passing run of the same matrix with it)",
    )
    .option('--tag <tag...>', 'label the run (e.g. nightly, release-1.2); --baseline <tag> finds it later')
    .option(
      '--baseline-runs <k>',
      'with --baseline <tag | latest-passing>: pool the newest K passing runs it names as the baseline (default 1)',
    )
    .option(
      '--gate <kind>',
      "baseline (default): exit 1 on a significant regression against the baseline; changepoint: exit 1 on a change point among the newest runs of --baseline's history (a tag, default latest-passing), worse beyond --max-regression",
    )
    .option('--max-regression <pct>', 'with --baseline: exit 1 on a significant regression beyond this', '5%')
    .option(
      '--include-suspect',
      "with --baseline: count repetitions marked suspect (their hardware throttled or reported faults) in the gate's statistics",
    )
    .option('--json', 'print the run summary and results as JSON')
    .addOption(wideOption())
    .option(
      '--max-lifetime <duration>',
      'cloud machines terminate themselves this long after creation, even if this process dies',
      '6h',
    )
    .option('--prices <file...>', 'price tables whose entries replace the built-in providers/prices.yaml')
    .option(
      '--shard <i/n>',
      'run only the i-th of n parts of the matrix (cell k goes to part k mod n + 1); parallel agents give the same --run-id and their parts make one run',
    )
    .option('--run-id <id>', 'store the run under this id (required with --shard; e.g. "$BUILD_TAG")')
    .option(
      '--no-wait',
      'when another controller holds a machine (ssh host, pool member, this machine), fail at once (exit 3, naming the holder) instead of waiting',
    )
    .action(async (matrix: string, opts) =>
      (await import('./commands/run.js')).runCommand(matrix, opts, io()),
    );
  program
    .command('gc')
    .description(
      'terminate what crashed runs left behind (ledger entries, tagged cloud instances, containers and leases on this machine and ssh hosts, runs left running) and confirm it is gone',
    )
    .addOption(stateOption())
    .option('--dry-run', 'only list what would be destroyed')
    .option('--session <id>', 'only this session (also tagged resources this ledger does not know)')
    .option('--all', 'also tagged resources of other controllers that have not expired yet')
    .option('--force', 'also resources of a controller that is still running on this host')
    .option(
      '--forget <key>',
      'close the ledger entry KEY once its provider proves nothing of it exists (an order that never reached the provider)',
    )
    .option('--json', 'print as JSON')
    .action(async (opts) => (await import('./commands/gc.js')).gcCommand(opts, io()));
  program
    .command('doctor')
    .description(
      "check machines before spending money on them: Docker, storage driver, inodes, NVIDIA runtime and driver, devices, clock (a matrix's targets, or this machine)",
    )
    .argument('[matrix]', "matrix YAML file: check its targets' machines against its requirements")
    .addOption(stateOption())
    .option('--target <name...>', 'only these targets of the matrix')
    .option('--json', 'print the checks as JSON')
    .action(async (matrix: string | undefined, opts) =>
      (await import('./commands/doctor.js')).doctorCommand(matrix, opts, io()),
    );
  const pool = program
    .command('pool')
    .description('named pools of SSH machines (targets with `pool: <name>`); changes reach running runs');
  pool
    .command('add')
    .description('add machines to a pool (made by its first member); a running run starts using them')
    .argument('<pool>', 'pool name')
    .argument('<host...>', 'addresses or ~/.ssh/config aliases')
    .addOption(stateOption())
    .option('--port <n>', "SSH port (default: the target's ssh.port, else 22)")
    .option('--user <user>', "login user (default: the target's ssh.user)")
    .option('--docker-socket <path>', "the Docker engine's socket on the machine (default: the target's)")
    .action(async (name: string, hosts: string[], opts) =>
      (await import('./commands/pool.js')).poolAddCommand(name, hosts, opts, io()),
    );
  pool
    .command('remove')
    .description(
      'take a machine out of a pool: a run using it finishes its current cell there (--now: stops it)',
    )
    .argument('<pool>', 'pool name')
    .argument('<host>', 'the member to remove')
    .addOption(stateOption())
    .option('--port <n>', 'which member, where the pool has the host more than once')
    .option('--now', 'stop what runs there now; it runs again on another member')
    .action(async (name: string, host: string, opts) =>
      (await import('./commands/pool.js')).poolRemoveCommand(name, host, opts, io()),
    );
  pool
    .command('drain')
    .description('every member stops taking work; what runs on them finishes')
    .argument('<pool>', 'pool name')
    .addOption(stateOption())
    .action(async (name: string, opts) =>
      (await import('./commands/pool.js')).poolDrainCommand(name, opts, io()),
    );
  pool
    .command('list')
    .description(
      "members of the pools (or one), their state, and who holds each (read from the machine's own lease)",
    )
    .argument('[pool]', 'only this pool')
    .addOption(stateOption())
    .option('--ssh-key <file>', 'private key to reach the members with (default: ~/.ssh/config, the agent)')
    .option('--known-hosts <file>', 'known_hosts file for the members (default ~/.ssh/known_hosts)')
    .option('--user <user>', 'login user for members that name none (default root)')
    .option('--no-probe', "do not ask the machines: show this state's record only")
    .option('--json', 'print as JSON')
    .action(async (name: string | undefined, opts) =>
      (await import('./commands/pool.js')).poolListCommand(name, opts, io()),
    );
  program
    .command('results')
    .description('list stored results (default: the latest run)')
    .addOption(stateOption())
    .option('--run <id>', 'run id')
    .option(
      '--samples',
      "the run's metric samples instead: each one when at most 100 are chosen, else n, min, median, max per series (per repetition too with --cell)",
    )
    .option('--cell <id...>', 'only these cells (an id or its beginning)')
    .option('--machine <name...>', 'only these machines: a machine id, a host, or target/host as shown')
    .option('--scope <scope...>', 'with --samples: container | host | gpu | app | collector')
    .option('--metric <name...>', "with --samples: metric names, '*' matching anything (host.cpu.*)")
    .option('--all', 'with --samples: list every sample, however many')
    .option(
      '--provision',
      "each machine's provisioning timeline instead: seconds from the request to created, running, ssh, docker, images, agent, first repetition",
    )
    .option('--json', 'print as JSON (with --samples: every chosen sample)')
    .addOption(wideOption())
    .action(async (opts) => (await import('./commands/results.js')).resultsCommand(opts, io()));
  program
    .command('history')
    .description(
      "change points in the history of each cell and score across the stored runs (E-divisive means over each run's median): when, which run, the means before and after",
    )
    .addOption(stateOption())
    .option('--tag <tag>', 'only runs with this tag (e.g. nightly)')
    .option('--matrix <name>', "only runs of this matrix (its 'name')")
    .option(
      '--cell <text...>',
      'only cells whose id is this, or whose name (benchmark params @target) contains it',
    )
    .option('--score <name...>', 'only these scores')
    .option('--last <n>', 'the newest N passing runs', '100')
    .option('--all', 'every series, also those without a change point')
    .option('--es <url>', 'read from this Elasticsearch instead of the embedded store')
    .option('--json', 'print the series and their change points as JSON')
    .action(async (opts) => (await import('./commands/history.js')).historyCommand(opts, io()));
  program
    .command('compare')
    .description(
      'compare groups of stored results along one axis against a baseline (n, median, p95, CoV, Hodges-Lehmann Δ% with its rank CI, Mann-Whitney p adjusted within each family, verdict, geomean with CI)',
    )
    .addOption(stateOption())
    .requiredOption(
      '--by <axis>',
      'target | provider | instance-type | gpu-model | fingerprint | node | run | image | param:<name>',
    )
    .option('--baseline <group>', 'the group the others are compared with (default: the first seen)')
    .option('--run <id...>', 'runs to include (default: the latest)')
    .option('--es <url>', 'read results from this Elasticsearch instead of the embedded store')
    .option('--junit <file>', 'write JUnit XML: one testcase per compared score')
    .option('--max-regression <pct>', 'exit 1 on a significant regression beyond this, e.g. 5%')
    .option(
      '--include-suspect',
      'count repetitions marked suspect (their hardware throttled or reported faults while they ran) in the statistics; by default they are shown but left out',
    )
    .option(
      '--provision',
      "also compare the machines' provisioning times: provision.created … provision.firstRepetition, seconds from the request, lower is better",
    )
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['table', 'csv', 'json', 'markdown'])
        .default('table'),
    )
    .addOption(wideOption())
    .action(async (opts) => (await import('./commands/compare.js')).compareCommand(opts, io()));
  program
    .command('report')
    .description(
      'write one self-contained HTML file (works offline): runs, results, the comparison with --by, cost, box plots, metric time series',
    )
    .addOption(stateOption())
    .requiredOption('--html <file>', 'the HTML file to write')
    .option(
      '--by <axis>',
      'also compare along: target | provider | instance-type | gpu-model | fingerprint | node | run | image | param:<name>',
    )
    .option(
      '--baseline <group>',
      'with --by: the group the others are compared with (default: the first seen)',
    )
    .option('--run <id...>', 'runs to include (default: the latest)')
    .option('--es <url>', 'read results from this Elasticsearch instead of the embedded store')
    .option(
      '--include-suspect',
      'count repetitions marked suspect (their hardware throttled or reported faults while they ran) in the statistics; by default they are shown but left out',
    )
    .action(async (opts) => (await import('./commands/report.js')).reportCommand(opts, io()));
  const benchmark = program.command('benchmark').description('user and built-in benchmark definitions');
  benchmark
    .command('list')
    .description('built-in benchmarks (and those a matrix defines) with their params and scores')
    .option('--matrix <file>', 'also list the benchmarks this matrix defines inline or by folder')
    .option('--json', 'print as JSON')
    .action(async (opts) => (await import('./commands/benchmark.js')).benchmarkListCommand(opts, io()));
  benchmark
    .command('validate')
    .description('check a benchmark folder or a matrix; with --sample-output, show what the parsers extract')
    .argument('<dir|matrix>', 'folder with benchmark.yaml, or a matrix file')
    .option('--sample-output <file>', 'captured stdout (or the file a score reads) to parse')
    .option('--sample-stderr <file>', 'captured stderr to parse')
    .action(async (target: string, opts) =>
      (await import('./commands/benchmark.js')).benchmarkValidateCommand(target, opts, io()),
    );
  const images = program
    .command('images')
    .description("the project's own images (images/*): build, push to a registry, list by content digest");
  images
    .command('build')
    .description('build images/<name> as benchyard/<name>:<version> on this Docker engine (default: all)')
    .argument('[name...]', 'folders under images/')
    .option('--force', 'rebuild even what scripts/services built from the same Dockerfile')
    .action(async (names: string[], opts) =>
      (await import('./commands/images.js')).imagesBuildCommand(names, opts, io()),
    );
  images
    .command('push')
    .description('push images to a Docker registry (v2) and print the digest machines pull by')
    .argument('[name...]', 'folders under images/ (default: all that are built here)')
    .requiredOption('--registry <host:port>', 'the registry, as this engine reaches it')
    .option('--json', 'print as JSON')
    .action(async (names: string[], opts) =>
      (await import('./commands/images.js')).imagesPushCommand(names, opts, io()),
    );
  images
    .command('ls')
    .description('list the images with their id, size and registry digest')
    .option('--registry <host:port>', 'also ask this registry which digest it serves for each tag')
    .option('--json', 'print as JSON')
    .action(async (opts) => (await import('./commands/images.js')).imagesLsCommand(opts, io()));
  program
    .command('schema')
    .description('print the JSON Schema of the matrix file')
    .action(() => void process.stdout.write(`${JSON.stringify(matrixJsonSchema(), null, 2)}\n`));
  program
    .command('serve')
    .description(
      'web UI and JSON API over the stored runs (live while they run), comparisons and pools; until SIGINT/SIGTERM',
    )
    .addOption(stateOption())
    .option('--port <n>', 'port to listen on (0: a free one)', '8080')
    .option('--host <address>', 'address to bind; anything but loopback needs a token', '127.0.0.1')
    .addOption(
      new Option(
        '--token <token>',
        'every request must carry it (Bearer header, or ?token= once); at least 16 characters, random. Prefer the BENCHYARD_TOKEN variable: a --token on the command line is visible to other users in ps',
      ).env('BENCHYARD_TOKEN'),
    )
    .option('--es <url>', 'read runs and results from this Elasticsearch instead of the embedded store')
    .action(async (opts, cmd: Command) =>
      (await import('./commands/serve.js')).serveCommand(
        { ...opts, tokenFrom: cmd.getOptionValueSource('token') },
        io(),
      ),
    );

  // Commands are imported when chosen: `plan` need not load Docker, Elasticsearch or SQLite.
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return report(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return EXIT.ok;
    return EXIT.badInput; // commander already printed the message
  }
  // Messages quote the user's input (file names, values): control characters are escaped.
  if (err instanceof ConfigError) {
    // One line per diagnostic, whatever its message quotes; the first 100 (in file order).
    const lines = err.diagnostics.slice(0, 100).map((d) => escapeControl(redact(formatDiagnostic(d))));
    const more = err.diagnostics.length - lines.length;
    process.stderr.write(
      `${lines.join('\n')}\n${more > 0 ? `… and ${more} more\n` : ''}${err.diagnostics.length} problem(s); nothing was started.\n`,
    );
  } else if (err instanceof BenchyardError) {
    process.stderr.write(`error: ${escapeControlKeepLines(err.message)}\n`);
  } else {
    process.stderr.write(
      `internal error: ${escapeControlKeepLines(errorMessage(err))}\n${err instanceof Error ? (err.stack ?? '') : ''}\n`,
    );
  }
  return exitCodeFor(err);
}
