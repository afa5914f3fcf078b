/**
 * The dead-man switch every instance boots with: it powers itself off at its expiry, and
 * `InstanceInitiatedShutdownBehavior: terminate` turns that power-off into termination, so
 * an instance outlives a lost controller by at most its lifetime.
 */
export function deadManUserData(expiresAt: Date, userScript?: string): string {
  const epoch = Math.floor(expiresAt.getTime() / 1000);
  const lines = [
    '#!/bin/sh',
    '# benchyard dead-man switch: power off (= terminate) at the expiry, whatever the controller does.',
    `EXPIRES=${epoch}`,
    'LEFT=$((EXPIRES - $(date +%s))); [ "$LEFT" -lt 60 ] && LEFT=60',
    'if command -v systemd-run >/dev/null 2>&1; then',
    '  systemd-run --unit=benchyard-expiry --on-active="${LEFT}s" /sbin/poweroff',
    'else',
    '  nohup sh -c "sleep $LEFT; poweroff" >/dev/null 2>&1 &',
    'fi',
  ];
  if (userScript?.trim()) {
    lines.push("# --- the target's userData ---", userScript.replace(/^#![^\n]*\n/, ''));
  }
  return `${lines.join('\n')}\n`;
}
