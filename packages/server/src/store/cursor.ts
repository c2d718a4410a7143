/**
 * Opaque paging cursors: a position encoded as base64url, so that clients pass it back unchanged
 * and never build one. A cursor that does not decode is treated as bad input by the routes.
 */
export function encodeCursor(...parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** The single number of a one-part cursor, or null when the cursor is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  const parts = decodeCursorParts(cursor);
  return parts && parts.length === 1 && typeof parts[0] === 'number' ? parts[0] : null;
}

export function decodeCursorParts(cursor: string): Array<string | number> | null {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string' || (typeof p === 'number' && Number.isFinite(p)))) {
      return null;
    }
    return parts;
  } catch {
    return null;
  }
}
