/**
 * FPGA cards among a machine's PCI functions, by vendor and device id, and the shell
 * (platform) XRT reports for Xilinx/AMD cards. Functions of one card (e.g. an Alveo's
 * management PF `.0` and user PF `.1`) share `domain:bus:device` and count once.
 *
 * Where each id comes from:
 * - pci.ids: the PCI ID Repository (https://pci-ids.ucw.cz, github.com/pciutils/pciids),
 *   whose names are quoted in `model`.
 * - dfl-pci.c: Linux drivers/fpga/dfl-pci.c (`PCIE_DEVICE_ID_*`), the driver for Intel
 *   FPGA PACs and other Device Feature List cards; also Documentation/fpga/dfl.rst.
 * - aws-fpga: github.com/aws/aws-fpga (SDAccel/userspace/src/scan.h, Vitis/README.md,
 *   hdk/README.md, hdk/cl/examples/.../cl_id_defines.vh on the F1 branch; hdk/README.md,
 *   sdk/userspace/fpga_mgmt_tools/README.md on the f2 branch) and Xilinx/XRT pull #8361.
 *   Amazon's ids are not in pci.ids.
 */
import { deviceOf, type PciFunction } from './parse-pci.js';
import type { XbutilDevice } from './parse-xbutil.js';

export interface FpgaInfo {
  vendor: string;
  vendorId: string;
  /** The device id of the card's first FPGA function. */
  deviceId: string;
  /** BDF of that function. */
  slot: string;
  /** Every FPGA function of the card. */
  functions: string[];
  /** Card name: the id table's, else lspci's. */
  model?: string;
  /** The shell/platform (XRT `vbnv`), e.g. `xilinx_u250_gen3x16_xdma_shell_4_1`. */
  shell?: string;
}

interface FpgaId {
  vendor: string;
  /** Which device ids of the vendor are FPGA functions; all when absent. */
  devices?: (deviceId: number) => boolean;
  models?: Readonly<Record<string, string>>;
  /** SR-IOV virtual functions: counted only when no physical function of the vendor is present. */
  virtualFunctions?: readonly string[];
}

const FPGA_IDS: Readonly<Record<string, FpgaId>> = {
  // pci.ids: 10ee "Xilinx Corporation". Every function of this vendor is FPGA logic
  // (Alveo management/user PFs, golden images, JTAG/UART).
  '10ee': {
    vendor: 'Xilinx',
    models: {
      '5000': 'Alveo U200 XDMA Platform', // pci.ids
      '5004': 'Alveo U250 XDMA Platform', // pci.ids
      '5005': 'Alveo U250', // pci.ids
      '500c': 'Alveo U280 XDMA Platform', // pci.ids
      '5020': 'Alveo U50 XMDA Platform', // pci.ids (sic)
      '505c': 'Alveo U55C', // pci.ids
      d000: 'Alveo U200 Golden Image', // pci.ids
      d004: 'Alveo U250 Golden Image', // pci.ids
      d00c: 'Alveo U280 Golden Image', // pci.ids
    },
  },
  // pci.ids: 1172 "Altera Corporation" (Intel PSG, now Altera again): FPGA boards only.
  '1172': { vendor: 'Altera', models: { '00a7': 'Stratix V', '0530': 'Stratix IV' } },
  // aws-fpga: the F1 application PF is 1d0f:1042 while the slot is cleared ("userPF device
  // on AWS F1", scan.h; "0x1042 (Cleared AFI)", Vitis/README.md) and takes the AFI's id once
  // one is loaded: 0xF000-0xF0FF are the ids Amazon preassigns (cl_id_defines.vh), 0xF010 is
  // the Vitis/SDAccel one. F2's application PF is 1d0f:9048 (f2 README: "0x9048 being the
  // default"; XRT #8361). Not listed: the mailbox/management PFs 1041 (F1) and 9248 (F2),
  // the same FPGA, and Amazon's ENA, EFA, NVMe and Neuron devices.
  '1d0f': {
    vendor: 'AWS',
    devices: (id) => id === 0x1042 || id === 0x9048 || (id >= 0xf000 && id <= 0xf0ff),
    models: { '1042': 'AWS F1 FPGA (cleared)', '9048': 'AWS F2 FPGA', f010: 'AWS F1 FPGA (Vitis AFI)' },
  },
  // Intel FPGA PACs (dfl-pci.c): 09c4 PF_DSC_1_X = pci.ids "PAC with Intel Arria 10 GX FPGA",
  // 09c5 its VF; 0b2b = pci.ids "PAC with Intel Stratix 10 SX FPGA [FPGA PAC D5005]", 0b2c
  // its VF; 0b30 PAC N3000; bcbd/bcc0 PF_INT_5_X/6_X (Xeon with in-package FPGA), bcbf/bcc1
  // their VFs; bcce/bccf the generic DFL PF/VF (N6000/N6001/C6100, told apart by subsystem).
  '8086': {
    vendor: 'Intel',
    devices: (id) => INTEL_FPGA.has(id),
    models: {
      '09c4': 'PAC with Intel Arria 10 GX FPGA',
      '0b2b': 'PAC with Intel Stratix 10 SX FPGA [FPGA PAC D5005]',
      '0b30': 'FPGA PAC N3000',
    },
    virtualFunctions: ['09c5', '0b2c', 'bcbf', 'bcc1', 'bccf'],
  },
  // dfl-pci.c: Silicom Denmark (1c2c) FPGA SmartNICs N5010 (1000) and N5011 (1001).
  '1c2c': {
    vendor: 'Silicom',
    devices: (id) => id === 0x1000 || id === 0x1001,
    models: { '1000': 'FPGA SmartNIC N5010', '1001': 'FPGA SmartNIC N5011' },
  },
};

const INTEL_FPGA = new Set([
  0x09c4, 0x09c5, 0x0b2b, 0x0b2c, 0x0b30, 0xbcbd, 0xbcbf, 0xbcc0, 0xbcc1, 0xbcce, 0xbccf,
]);

/** Whether a PCI function is (part of) an FPGA card. */
export function isFpgaFunction(f: Pick<PciFunction, 'vendorId' | 'deviceId'>): boolean {
  const id = FPGA_IDS[f.vendorId];
  return id !== undefined && (id.devices?.(parseInt(f.deviceId, 16)) ?? true);
}

/** The FPGA cards among `functions`, with shells from `xbutil` where it listed the card. */
export function detectFpgas(
  functions: readonly PciFunction[],
  xbutil: readonly XbutilDevice[] = [],
): FpgaInfo[] {
  const cards = new Map<string, PciFunction[]>();
  for (const f of functions.filter(isFpgaFunction)) {
    const key = deviceOf(f.slot);
    cards.set(key, [...(cards.get(key) ?? []), f]);
  }
  const isVf = (fs: PciFunction[]) =>
    fs.every((f) => FPGA_IDS[f.vendorId]?.virtualFunctions?.includes(f.deviceId) ?? false);
  const all = [...cards.values()];
  const withPf = new Set(all.filter((fs) => !isVf(fs)).map((fs) => fs[0]!.vendorId));
  const shells = new Map(xbutil.map((d) => [deviceOf(d.bdf.toLowerCase()), d.shell]));
  return all
    .filter((fs) => !(isVf(fs) && withPf.has(fs[0]!.vendorId)))
    .map((fs) => {
      const sorted = [...fs].sort((a, b) => a.slot.localeCompare(b.slot));
      const first = sorted[0]!;
      const id = FPGA_IDS[first.vendorId]!;
      const model = id.models?.[first.deviceId] ?? specificName(first.name);
      const shell = shells.get(deviceOf(first.slot));
      return {
        vendor: id.vendor,
        vendorId: first.vendorId,
        deviceId: first.deviceId,
        slot: first.slot,
        functions: sorted.map((f) => f.slot),
        ...(model ? { model } : {}),
        ...(shell ? { shell } : {}),
      };
    })
    .sort((a, b) => a.slot.localeCompare(b.slot));
}

/** lspci's name unless it is the `Vendor Device` it prints for ids its database lacks. */
function specificName(name: string | undefined): string | undefined {
  return name && !/\bDevice(?: [0-9a-f]{4})?$/i.test(name) ? name : undefined;
}
