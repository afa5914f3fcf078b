/** What an EC2 instance type's description (DescribeInstanceTypes) says about its hardware. */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import type { HardwareFacts } from '../../src/core/index.js';

/** What DescribeInstanceTypes says about the hardware. */
export function hardwareFactsOf(t: InstanceTypeInfo): HardwareFacts {
  const gpus = (t.GpuInfo?.Gpus ?? []).map((g) => ({
    model: `${g.Manufacturer ?? ''} ${g.Name ?? ''}`.trim(),
    count: g.Count ?? 1,
    ...(g.MemoryInfo?.SizeInMiB ? { memoryMiB: g.MemoryInfo.SizeInMiB } : {}),
  }));
  const fpgas = (t.FpgaInfo?.Fpgas ?? []).map((f) => ({
    model: `${f.Manufacturer ?? ''} ${f.Name ?? ''}`.trim(),
    count: f.Count ?? 1,
    ...(f.MemoryInfo?.SizeInMiB ? { memoryMiB: f.MemoryInfo.SizeInMiB } : {}),
  }));
  return {
    ...(t.ProcessorInfo?.Manufacturer ? { cpuModel: t.ProcessorInfo.Manufacturer } : {}),
    ...(t.VCpuInfo?.DefaultVCpus ? { cpuCores: t.VCpuInfo.DefaultVCpus } : {}),
    ...(t.MemoryInfo?.SizeInMiB ? { memoryBytes: t.MemoryInfo.SizeInMiB * 1024 * 1024 } : {}),
    ...(gpus.length ? { gpus } : {}),
    ...(fpgas.length ? { fpgas } : {}),
  };
}
