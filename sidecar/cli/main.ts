#!/usr/bin/env node
/**
 * The `santa` command: run, status, verify, detach, top. Each subcommand parses its options and
 * calls into the parts; nothing here decides anything about DNS or BPF.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, configFlagsFrom, loadConfig, settingsHelp, type SantaConfig } from '../config';
import { SECONDARY_ZONE_SOURCES, SIGNED_ZONE_SOURCES } from '../config/schema';
import { createLogger } from '../log';
import { defaultObjectPath } from '../run/santa-run';
import { superviseSanta } from '../run/supervise';
import { createLoader, targetsOf } from '../run/loaders';
import { NativeLoader } from '../loader/native/native-loader';
import { namespacesOf } from '../loader/loader';
import { topCommand } from './top';
import { statusReport, formatStatus } from './status';
import { verifyZones, formatVerify } from './verify';

function version(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(resolve(__dirname, up), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next layout (source tree or dist/) */
    }
  }
  return 'unknown';
}

/** Every setting as a flag, with its help, allowed values and default. */
function withSettingFlags(cmd: Command): Command {
  cmd.option('-c, --config <file>', 'YAML configuration file (also SANTA_CONFIG)');
  for (const s of settingsHelp()) {
    const detail = [s.allowed, s.default !== undefined ? `default ${s.default}` : '', `env ${s.env}`].filter(Boolean).join('; ');
    cmd.addOption(new Option(`${s.flag} <value>`, `${s.help} (${detail})`));
  }
  return cmd;
}

/** `run` needs everything; `status` neither interfaces nor a query source; `detach` no query source. */
async function configFrom(opts: Record<string, unknown>, command: 'run' | 'status' | 'detach'): Promise<SantaConfig> {
  const resolved = await loadConfig({
    file: opts.config as string | undefined,
    flags: configFlagsFrom(opts),
    requireInterfaces: command !== 'status',
    requireQuerySource: command === 'run',
  });
  return resolved.config;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('santa')
    .description('Answers the DNS questions a BIND 9 server is asked most, from XDP, with the answers BIND would give')
    .version(version());

  withSettingFlags(program.command('run').description('attach to the interfaces and keep the hot set installed until stopped')).action(async (opts) => {
    const config = await configFrom(opts, 'run');
    const log = createLogger({ level: config.log.level });
    const santa = await superviseSanta({ config, log, version: version() });
    log.info({ mode: config.mode, loader: config.loader, interfaces: config.interfaces.map((i) => i.name) }, 'santa running');
    await new Promise<void>((done) => {
      const stop = async (signal: string) => {
        log.info({ signal }, 'stopping; cached entries lapse when their leases expire');
        await santa.stop();
        done();
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGUSR1', () => void santa.tickNow());
    });
  });

  withSettingFlags(program.command('status').description('counters, zones and the most-hit cached questions, from the pinned maps'))
    .option('--top <n>', 'cached questions to list', '10')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const config = await configFrom(opts, 'status');
      const report = await statusReport(config, Number(opts.top));
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report));
    });

  program
    .command('verify')
    .description("build every answer of every offloadable zone and compare it with BIND's own")
    .option('--named-conf <file>', "BIND's named.conf", '/etc/bind/named.conf')
    .option('--bind <host#port>', 'where BIND answers (over TCP)', '127.0.0.1#53')
    .addOption(new Option('--signed-zones <source>', 'zones named signs, read as bind.signed_zones says').choices(SIGNED_ZONE_SOURCES).default('unsigned-file'))
    .addOption(new Option('--secondary-zones <source>', 'secondary zones, read as bind.secondary_zones says').choices(SECONDARY_ZONE_SOURCES).default('file'))
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const [host, port] = String(opts.bind).split('#');
      const report = await verifyZones(String(opts.namedConf), { host, port: Number(port ?? 53) }, { signedZones: opts.signedZones, secondaryZones: opts.secondaryZones });
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatVerify(report));
      if (report.mismatched > 0 || report.errors > 0) process.exitCode = 1;
    });

  withSettingFlags(program.command('detach').description('take Santa off its interfaces (either loader)'))
    .option('--purge', 'also remove the pinned maps (native loader): the cache is gone')
    .action(async (opts) => {
      const config = await configFrom(opts, 'detach');
      const loader = createLoader(config, config.bpfObject ?? defaultObjectPath());
      try {
        for (const target of targetsOf(config)) {
          const removed = await loader.detach(target);
          process.stdout.write(`${target.iface}: ${removed ? 'detached' : 'Santa was not attached'}\n`);
        }
        // Whatever loopback_guard says now: a guard left from an earlier run goes too.
        if (loader.detachLoopbackGuard) {
          for (const netns of namespacesOf(targetsOf(config))) {
            const removed = await loader.detachLoopbackGuard(netns);
            process.stdout.write(`lo${netns ? ` in ${netns}` : ''}: ${removed ? 'loopback guard detached' : 'no loopback guard'}\n`);
          }
        }
        if (opts.purge && loader instanceof NativeLoader) loader.purge();
      } finally {
        await loader.close();
      }
    });

  program.addCommand(topCommand());
  await program.parseAsync(argv);
}

main(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError) process.stderr.write(`santa: configuration error\n${e.message}\n`);
  else process.stderr.write(`santa: ${(e as Error).stack ?? String(e)}\n`);
  // The verifier's last lines say why a program was refused; the whole log can be thousands.
  const verifierLog = (e as { verifierLog?: string }).verifierLog;
  if (verifierLog) process.stderr.write(`verifier log (last lines):\n${verifierLog.trimEnd().split('\n').slice(-25).join('\n')}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
