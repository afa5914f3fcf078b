/**
 * Bounds on what benchyard reads from users, so a hostile or mistaken file is refused
 * quickly (exit 2) instead of taking the process's memory, stack or time. Each is far above
 * what a hand-written or generated matrix needs; docs/matrix.md says why each was chosen.
 */

/**
 * Largest matrix or benchmark definition read, in bytes. The examples are 1–3 KiB; a
 * 10,000-value axis written one value a line is ~100 KiB. Parsing stays under half a
 * second on a loaded 2-core machine at this size.
 */
export const MAX_FILE_BYTES = 256 * 1024;

/**
 * Most cells a matrix may expand to (the product of each entry's axes × its targets,
 * summed over entries). Each cell is at least one container run: 10,000 cells of 3 × 30 s
 * repetitions are 250 machine-hours. `plan` and `plan --json` stay under a second and
 * ~150 MB at this size; larger sweeps are split into several matrices.
 */
export const MAX_CELLS = 10_000;

/** Deepest nesting of collections, after aliases are expanded (a matrix needs about 8). */
export const MAX_DEPTH = 64;

/** Most aliases (`*name`) in one file. */
export const MAX_ALIASES = 1_000;

/**
 * Most nodes the document may have once every alias is expanded: what a consumer that
 * walks the data (validation, hashing) visits. An alias bomb expands exponentially.
 */
export const MAX_EXPANDED_NODES = 250_000;
