/**
 * The machine's GPUs from `nvidia-smi -q -x`, run once. "No GPUs" only on evidence: no
 * nvidia-smi, or nvidia-smi saying there is no usable device or driver. Output that cannot
 * be read (not its XML, cut off by a timeout, an unexpected failure) leaves the GPUs
 * unknown, so placement keeps GPU cells and lets the machine's engine decide.
 */
import { silentLogger, type Logger } from '../../core/index.js';
import { parseGpuInventoryXml, type GpuInventoryResult } from './inventory.js';
import { NO_GPU, runSmiXml } from './smi-xml.js';

export async function inventory(
  command = 'nvidia-smi',
  logger: Logger = silentLogger,
  timeoutMs = 60_000,
): Promise<GpuInventoryResult> {
  const unknown = (reason: string): GpuInventoryResult => {
    logger.warn(`GPUs unknown: ${reason}`, { command });
    return { status: 'unknown', reason };
  };
  const { stdout, said, error } = await runSmiXml(command, timeoutMs);
  if (error) {
    if (error.code === 'ENOENT') return { status: 'none', reason: `${command} not found` };
    if (!error.killed && NO_GPU.test(said)) {
      logger.debug('nvidia-smi -q -x: no usable GPU', { command, output: said.slice(0, 500) });
      return { status: 'none', reason: said.split('\n')[0]!.slice(0, 200) };
    }
    return unknown(
      error.killed
        ? `nvidia-smi -q -x did not finish within ${timeoutMs} ms`
        : `nvidia-smi -q -x failed: ${error.message.split('\n')[0]} ${said.slice(0, 200)}`.trim(),
    );
  }
  try {
    return { status: 'known', inventory: parseGpuInventoryXml(stdout) };
  } catch (parseErr) {
    if (NO_GPU.test(said)) return { status: 'none', reason: said.split('\n')[0]!.slice(0, 200) };
    return unknown(`could not read nvidia-smi -q -x output: ${(parseErr as Error).message}`);
  }
}
