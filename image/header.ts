/**
 * Image dimensions from the file header alone (JPEG SOF marker, PNG IHDR),
 * so a loader can check every file of a dataset up front without decoding
 * the pixels.
 */
import { sniffFormat } from "./codec.ts";

/** Width and height from the header, or `undefined` if unknown/corrupt. */
export function readImageSize(
  bytes: Uint8Array,
): { width: number; height: number } | undefined {
  const format = sniffFormat(bytes);
  if (format === "png") {
    if (bytes.length < 24) return undefined;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const width = v.getUint32(16), height = v.getUint32(20);
    return width > 0 && height > 0 ? { width, height } : undefined;
  }
  if (format === "jpeg") {
    let p = 2;
    while (p + 9 < bytes.length) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1];
      if (marker === 0xff) {
        p++;
        continue;
      }
      const len = (bytes[p + 2] << 8) | bytes[p + 3];
      // SOF0..SOF15 carry the frame size; C4 (DHT), C8, CC (DAC) do not.
      if (
        marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
        marker !== 0xc8 && marker !== 0xcc
      ) {
        const height = (bytes[p + 5] << 8) | bytes[p + 6];
        const width = (bytes[p + 7] << 8) | bytes[p + 8];
        return width > 0 && height > 0 ? { width, height } : undefined;
      }
      if (marker === 0xd9 || marker === 0xda) return undefined;
      p += 2 + len;
    }
  }
  return undefined;
}
