// numpy's .npz in the browser: a zip of .npy members, stored (the service's answers,
// which travel compressed by the HTTP coding) or deflated (np.savez_compressed). Read
// with the zip's central directory (zip64 sizes too, as numpy writes them) and the
// browser's own DecompressionStream, so a region map of 100,000 polygons arrives as typed
// arrays without parsing any text.

const TYPES = {
  "<f8": Float64Array,
  "<f4": Float32Array,
  "<i8": BigInt64Array,
  "<i4": Int32Array,
  "<i2": Int16Array,
  "|i1": Int8Array,
  "<u4": Uint32Array,
  "<u2": Uint16Array,
  "|u1": Uint8Array,
  "|b1": Uint8Array,
};

/**
 * The members of a zip archive: name, compression method, sizes and data offset.
 * @param {DataView} view
 */
function members(view) {
  let end = -1;
  for (let i = view.byteLength - 22; i >= Math.max(0, view.byteLength - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip archive: no end of central directory");
  let count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (at === 0xffffffff || count === 0xffff) {
    // The zip64 end of central directory record, found through its locator.
    const record = Number(view.getBigUint64(end - 20 + 8, true));
    count = Number(view.getBigUint64(record + 32, true));
    at = Number(view.getBigUint64(record + 48, true));
  }
  const decoder = new TextDecoder();
  const out = [];
  for (let k = 0; k < count; k++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = view.getUint16(at + 10, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const name = decoder.decode(new Uint8Array(view.buffer, view.byteOffset + at + 46, nameLength));
    // Zip64: the sizes and offset that overflow 32 bits are in extra field 0x0001, in this order.
    for (let e = at + 46 + nameLength; e < at + 46 + nameLength + extraLength; ) {
      const id = view.getUint16(e, true);
      const length = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) (size = Number(view.getBigUint64(f, true))), (f += 8);
        if (compressed === 0xffffffff) (compressed = Number(view.getBigUint64(f, true))), (f += 8);
        if (local === 0xffffffff) local = Number(view.getBigUint64(f, true));
      }
      e += 4 + length;
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    out.push({ name: name.replace(/\.npy$/, ""), method, compressed, size, start });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).arrayBuffer();
}

/**
 * One .npy array: its dtype, shape and a typed array over its data (C order).
 * @param {ArrayBuffer} buffer
 */
export function readNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") throw new Error("not a .npy array");
  const view = new DataView(buffer);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error("a Fortran-ordered array is not supported");
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const Type = TYPES[descr];
  if (!Type) throw new Error(`unsupported dtype ${descr}`);
  const offset = headerStart + headerLength;
  const length = shape.reduce((a, b) => a * b, 1);
  // A typed array must start at a multiple of its item size; numpy pads headers to 64 bytes.
  const data = offset % Type.BYTES_PER_ELEMENT === 0 ? new Type(buffer, offset, length) : new Type(buffer.slice(offset, offset + length * Type.BYTES_PER_ELEMENT));
  return { dtype: descr, shape, data };
}

/**
 * The arrays of an .npz archive, by member name (without ".npy").
 * @param {ArrayBuffer} buffer
 * @param {(name: string) => boolean} wanted - which members to decode (default: all)
 * @returns {Promise<Map<string, {dtype: string, shape: number[], data: ArrayLike<number>}>>}
 */
export async function readNpz(buffer, wanted = () => true) {
  const view = new DataView(buffer);
  const entries = members(view).filter((entry) => wanted(entry.name));
  const arrays = await Promise.all(
    entries.map(async (entry) => {
      const raw = new Uint8Array(buffer, entry.start, entry.compressed);
      if (entry.method === 0) return readNpy(raw.slice().buffer);
      if (entry.method !== 8) throw new Error(`zip member ${entry.name}: compression method ${entry.method} is not supported`);
      return readNpy(await inflate(raw));
    }),
  );
  return new Map(entries.map((entry, k) => [entry.name, arrays[k]]));
}
