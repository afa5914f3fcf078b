/**
 * The machine's GPUs from `nvidia-smi -q -x`, run once. "No GPUs" only on evidence: no
 * nvidia-smi, or nvidia-smi saying there is no usable device or driver. Output that cannot
 * be read (not its XML, cut off by a timeout, an unexpected failure) leaves the GPUs
 * unknown, so placement keeps GPU cells and lets the machine's engine decide.
 */
import { execFile } from 'node:child_process';
import { silentLogger, type Logger } from '../../core/index.js';
import { parseGpuInventoryXml, type GpuInventoryResult } from './inventory.js';

/** What nvidia-smi prints when there is no usable GPU or driver. */
const NO_GPU =
  /No devices were found|NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|Driver\/library version mismatch/i;

export function inventory(
  command = 'nvidia-smi',
  logger: Logger = silentLogger,
  timeoutMs = 60_000,
): Promise<GpuInventoryResult> {
  return new Promise((resolve) => {
    const unknown = (reason: string): void => {
      logger.warn(`GPUs unknown: ${reason}`, { command });
      resolve({ status: 'unknown', reason });
    };
    try {
      execFile(
        command,
        ['-q', '-x'],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const said = `${stdout}\n${stderr}`.trim();
          if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') return resolve({ status: 'none', reason: `${command} not found` });
            if (!err.killed && NO_GPU.test(said)) {
              logger.debug('nvidia-smi -q -x: no usable GPU', { command, output: said.slice(0, 500) });
              return resolve({ status: 'none', reason: said.split('\n')[0]!.slice(0, 200) });
            }
            return unknown(
              err.killed
                ? `nvidia-smi -q -x did not finish within ${timeoutMs} ms`
                : `nvidia-smi -q -x failed: ${err.message.split('\n')[0]} ${said.slice(0, 200)}`.trim(),
            );
          }
          try {
            resolve({ status: 'known', inventory: parseGpuInventoryXml(stdout) });
          } catch (parseErr) {
            if (NO_GPU.test(said))
              return resolve({ status: 'none', reason: said.split('\n')[0]!.slice(0, 200) });
            unknown(`could not read nvidia-smi -q -x output: ${(parseErr as Error).message}`);
          }
        },
      );
    } catch (err) {
      unknown(`could not run nvidia-smi -q -x: ${String(err)}`);
    }
  });
}
