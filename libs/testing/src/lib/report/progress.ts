/** `[#####.....]  50%`: a console progress line's bar; done is clamped to 0..total, total 0 counts as done. */
export function progressBar(done: number, total: number, width = 20): string {
  const cells = Math.max(1, Math.floor(Number.isFinite(width) ? width : 20));
  const fraction = total > 0 && Number.isFinite(done) ? Math.min(1, Math.max(0, done / total)) : total > 0 ? 0 : 1;
  const filled = Math.floor(fraction * cells);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}] ${percent}`;
}
