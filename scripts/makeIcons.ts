// Draws the extension icon (128 px) and one 32 px icon per task, with node:zlib only:
// shapes are signed distance functions, edges anti-aliased by 4×4 supersampling.
//   node build/scripts/makeIcons.js
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { REPO_ROOT } from './layout';

type Rgb = readonly [number, number, number];
/** Negative inside the shape, in units of the icon's side (0..1). */
type Shape = (x: number, y: number) => number;

class Canvas {
  private readonly pixels: Float64Array;
  constructor(readonly size: number) {
    this.pixels = new Float64Array(size * size * 4);
  }

  fill(shape: Shape, color: Rgb, opacity = 1): void {
    const samples = 4;
    for (let py = 0; py < this.size; py++) {
      for (let px = 0; px < this.size; px++) {
        let covered = 0;
        for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) {
            const x = (px + (sx + 0.5) / samples) / this.size;
            const y = (py + (sy + 0.5) / samples) / this.size;
            if (shape(x, y) <= 0) covered++;
          }
        }
        const alpha = (covered / (samples * samples)) * opacity;
        if (alpha === 0) continue;
        const i = (py * this.size + px) * 4;
        const under = this.pixels[i + 3]!;
        const out = alpha + under * (1 - alpha);
        for (let c = 0; c < 3; c++) {
          this.pixels[i + c] = (color[c]! * alpha + this.pixels[i + c]! * under * (1 - alpha)) / out;
        }
        this.pixels[i + 3] = out;
      }
    }
  }

  png(): Buffer {
    const raw = Buffer.alloc(this.size * (this.size * 4 + 1));
    for (let y = 0; y < this.size; y++) {
      raw[y * (this.size * 4 + 1)] = 0; // filter: none
      for (let x = 0; x < this.size * 4; x++) {
        const value = this.pixels[y * this.size * 4 + x]!;
        raw[y * (this.size * 4 + 1) + 1 + x] = Math.round((x % 4 === 3 ? value : value) * 255);
      }
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.size, 0);
    header.writeUInt32BE(this.size, 4);
    header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// Shapes.
const circle =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.hypot(x - cx, y - cy) - r;
const ring =
  (cx: number, cy: number, r: number, width: number): Shape =>
  (x, y) =>
    Math.abs(Math.hypot(x - cx, y - cy) - r) - width / 2;
const roundedBox =
  (cx: number, cy: number, halfW: number, halfH: number, radius: number): Shape =>
  (x, y) => {
    const qx = Math.abs(x - cx) - halfW + radius;
    const qy = Math.abs(y - cy) - halfH + radius;
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
  };
function segment(ax: number, ay: number, bx: number, by: number, width: number): Shape {
  return (x, y) => {
    const px = x - ax;
    const py = y - ay;
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy)));
    return Math.hypot(px - t * dx, py - t * dy) - width / 2;
  };
}
const union =
  (...shapes: Shape[]): Shape =>
  (x, y) =>
    Math.min(...shapes.map((s) => s(x, y)));
const polyline = (points: [number, number][], width: number): Shape =>
  union(...points.slice(1).map((p, i) => segment(points[i]![0], points[i]![1], p[0], p[1], width)));
/** A regular polygon with rounded corners, first vertex at the top. */
function roundedPolygon(cx: number, cy: number, r: number, sides: number, rounding: number): Shape {
  const apothem = (r - rounding) * Math.cos(Math.PI / sides);
  return (x, y) => {
    let distance = -Infinity;
    for (let k = 0; k < sides; k++) {
      const angle = -Math.PI / 2 + Math.PI / sides + (2 * Math.PI * k) / sides;
      distance = Math.max(distance, (x - cx) * Math.cos(angle) + (y - cy) * Math.sin(angle) - apothem);
    }
    return distance - rounding;
  };
}
function triangle(a: [number, number], b: [number, number], c: [number, number]): Shape {
  const cross = (p: [number, number], q: [number, number], x: number, y: number): number =>
    (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const winding = Math.sign(cross(a, b, c[0], c[1]));
  const edges: [[number, number], [number, number]][] = [
    [a, b],
    [b, c],
    [c, a],
  ];
  // A point is inside when it lies on the triangle's side of all three edges; the largest of the
  // signed edge distances is near enough to the true distance for an anti-aliased fill.
  return (x, y) =>
    Math.max(...edges.map(([p, q]) => (-winding * cross(p, q, x, y)) / Math.hypot(q[0] - p[0], q[1] - p[1])));
}

const WHITE: Rgb = [1, 1, 1];
const KUBERNETES_BLUE: Rgb = [0.196, 0.424, 0.898];
const ARROW_CYAN: Rgb = [0.45, 0.92, 1];
const DEEP_BLUE: Rgb = [0.07, 0.22, 0.52];

function extensionIcon(): Canvas {
  const canvas = new Canvas(128);
  canvas.fill(roundedPolygon(0.5, 0.5, 0.49, 7, 0.06), KUBERNETES_BLUE);
  // A ship's wheel (Kubernetes' helm) with an upward delivery arrow through its hub.
  canvas.fill(ring(0.5, 0.53, 0.25, 0.06), WHITE);
  const spokes: Shape[] = [];
  for (let k = 0; k < 7; k++) {
    const angle = -Math.PI / 2 + (2 * Math.PI * k) / 7;
    spokes.push(segment(0.5, 0.53, 0.5 + 0.33 * Math.cos(angle), 0.53 + 0.33 * Math.sin(angle), 0.045));
  }
  canvas.fill(union(...spokes), WHITE);
  canvas.fill(circle(0.5, 0.53, 0.1), WHITE);
  canvas.fill(circle(0.5, 0.53, 0.06), KUBERNETES_BLUE);
  canvas.fill(triangle([0.5, 0.06], [0.4, 0.2], [0.6, 0.2]), [1, 0.75, 0.2]);
  canvas.fill(segment(0.5, 0.16, 0.5, 0.43, 0.06), [1, 0.75, 0.2]);
  return canvas;
}

function badge(color: Rgb): Canvas {
  const canvas = new Canvas(32);
  canvas.fill(roundedBox(0.5, 0.5, 0.47, 0.47, 0.16), color);
  return canvas;
}

function keyIcon(): Canvas {
  const canvas = badge([0.85, 0.6, 0.05]);
  canvas.fill(ring(0.33, 0.4, 0.14, 0.09), WHITE);
  canvas.fill(
    polyline(
      [
        [0.43, 0.5],
        [0.78, 0.85],
      ],
      0.1,
    ),
    WHITE,
  );
  canvas.fill(
    polyline(
      [
        [0.62, 0.69],
        [0.71, 0.6],
      ],
      0.09,
    ),
    WHITE,
  );
  canvas.fill(
    polyline(
      [
        [0.72, 0.79],
        [0.8, 0.71],
      ],
      0.09,
    ),
    WHITE,
  );
  return canvas;
}

function deployIcon(): Canvas {
  const canvas = badge(KUBERNETES_BLUE);
  canvas.fill(triangle([0.5, 0.14], [0.22, 0.46], [0.78, 0.46]), WHITE);
  canvas.fill(segment(0.5, 0.4, 0.5, 0.7, 0.16), WHITE);
  canvas.fill(segment(0.24, 0.84, 0.76, 0.84, 0.08), WHITE);
  return canvas;
}

function testIcon(): Canvas {
  const canvas = badge([0.13, 0.59, 0.33]);
  canvas.fill(
    polyline(
      [
        [0.24, 0.52],
        [0.43, 0.71],
        [0.78, 0.3],
      ],
      0.13,
    ),
    WHITE,
  );
  return canvas;
}

function promoteIcon(): Canvas {
  const canvas = badge(DEEP_BLUE);
  canvas.fill(roundedBox(0.25, 0.62, 0.14, 0.14, 0.04), [0.55, 0.7, 0.95]);
  canvas.fill(roundedBox(0.75, 0.38, 0.14, 0.14, 0.04), WHITE);
  canvas.fill(segment(0.28, 0.4, 0.5, 0.26, 0.08), ARROW_CYAN);
  canvas.fill(triangle([0.64, 0.17], [0.45, 0.17], [0.56, 0.36]), ARROW_CYAN);
  return canvas;
}

const ICONS: [string, () => Canvas][] = [
  ['images/extension-icon.png', extensionIcon],
  ['tasks/fetch-keyvault-secrets/icon.png', keyIcon],
  ['tasks/deploy-aks-template/icon.png', deployIcon],
  ['tasks/run-acceptance-tests/icon.png', testIcon],
  ['tasks/promote-image/icon.png', promoteIcon],
];

for (const [file, draw] of ICONS) {
  const target = path.join(REPO_ROOT, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, draw().png());
  console.log(`wrote ${file}`);
}
