// Draws the extension icon (128 px) and one 32 px icon per task with Node built-ins only, so CI needs
// no image tools: shapes are signed distance functions, edges anti-aliased by supersampling, and the
// PNG is encoded with node:zlib (deflate and, since Node 20.15, crc32).
//   npm run icons    (rewrites the PNGs, which stay committed: packaging does not draw them)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { REPO_ROOT } from './layout';

type Rgb = readonly [number, number, number];
type Point = readonly [number, number];
/** Signed distance in units of the icon's side (0..1): negative inside the shape. */
type Shape = (x: number, y: number) => number;
/** A flat colour, or one that varies over the icon (gradients). */
type Paint = Rgb | ((x: number, y: number) => Rgb);

const SAMPLES = 8;

class Canvas {
  /** Straight (not premultiplied) RGBA, 0..1. */
  private readonly pixels: Float64Array;

  constructor(readonly size: number) {
    this.pixels = new Float64Array(size * size * 4);
  }

  fill(shape: Shape, paint: Paint, opacity = 1): void {
    for (let py = 0; py < this.size; py++) {
      for (let px = 0; px < this.size; px++) {
        let covered = 0;
        for (let sy = 0; sy < SAMPLES; sy++) {
          for (let sx = 0; sx < SAMPLES; sx++) {
            if (shape((px + (sx + 0.5) / SAMPLES) / this.size, (py + (sy + 0.5) / SAMPLES) / this.size) <= 0)
              covered++;
          }
        }
        if (covered === 0) continue;
        const alpha = (covered / (SAMPLES * SAMPLES)) * opacity;
        const color =
          typeof paint === 'function' ? paint((px + 0.5) / this.size, (py + 0.5) / this.size) : paint;
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
    const stride = this.size * 4 + 1;
    const raw = Buffer.alloc(this.size * stride); // each row starts with filter type 0 (none)
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size * 4; x++) {
        raw[y * stride + 1 + x] = Math.round(clamp01(this.pixels[y * this.size * 4 + x]!) * 255);
      }
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.size, 0);
    header.writeUInt32BE(this.size, 4);
    header.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA, deflate, no filter set, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const clamp01 = (value: number): number => Math.min(1, Math.max(0, value));

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

// Shapes.
function circle(cx: number, cy: number, r: number): Shape {
  return (x, y) => Math.hypot(x - cx, y - cy) - r;
}

function ring(cx: number, cy: number, r: number, width: number): Shape {
  return (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - width / 2;
}

function roundedBox(cx: number, cy: number, halfW: number, halfH: number, radius: number): Shape {
  return (x, y) => {
    const qx = Math.abs(x - cx) - halfW + radius;
    const qy = Math.abs(y - cy) - halfH + radius;
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
  };
}

/** A stroke with round caps. */
function segment([ax, ay]: Point, [bx, by]: Point, width: number): Shape {
  return (x, y) => {
    const dx = bx - ax;
    const dy = by - ay;
    const t = clamp01(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy));
    return Math.hypot(x - ax - t * dx, y - ay - t * dy) - width / 2;
  };
}

function union(...shapes: Shape[]): Shape {
  return (x, y) => Math.min(...shapes.map((shape) => shape(x, y)));
}

function subtract(shape: Shape, hole: Shape): Shape {
  return (x, y) => Math.max(shape(x, y), -hole(x, y));
}

function polyline(points: readonly Point[], width: number): Shape {
  return union(...points.slice(1).map((point, i) => segment(points[i]!, point, width)));
}

/** A convex polygon given clockwise on screen (y down); max of edge distances is exact enough to shade. */
function convexPolygon(points: readonly Point[]): Shape {
  return (x, y) => {
    let distance = -Infinity;
    points.forEach(([ax, ay], i) => {
      const [bx, by] = points[(i + 1) % points.length]!;
      const length = Math.hypot(bx - ax, by - ay);
      distance = Math.max(distance, ((bx - ax) * (ay - y) - (by - ay) * (ax - x)) / length);
    });
    return distance;
  };
}

/** A regular polygon with rounded corners, one vertex at the top. */
function roundedPolygon(cx: number, cy: number, r: number, sides: number, rounding: number): Shape {
  const apothem = (r - rounding) * Math.cos(Math.PI / sides);
  return (x, y) => {
    let distance = -Infinity;
    for (let k = 0; k < sides; k++) {
      const normal = -Math.PI / 2 + Math.PI / sides + (2 * Math.PI * k) / sides;
      distance = Math.max(distance, (x - cx) * Math.cos(normal) + (y - cy) * Math.sin(normal) - apothem);
    }
    return distance - rounding;
  };
}

/** Points along a circular arc, angles in radians, clockwise on screen as the angle grows. */
function arcPoints(cx: number, cy: number, r: number, from: number, to: number, steps = 24): Point[] {
  return Array.from({ length: steps + 1 }, (_, i) => {
    const angle = from + ((to - from) * i) / steps;
    return [cx + r * Math.cos(angle), cy + r * Math.sin(angle)] as const;
  });
}

/** A triangular arrow head whose tip is at `tip`, pointing along `angle`. */
function arrowHead(tip: Point, angle: number, length: number, halfWidth: number): Shape {
  const [tx, ty] = tip;
  const bx = tx - length * Math.cos(angle);
  const by = ty - length * Math.sin(angle);
  const nx = -Math.sin(angle) * halfWidth;
  const ny = Math.cos(angle) * halfWidth;
  return convexPolygon([tip, [bx + nx, by + ny], [bx - nx, by - ny]]);
}

// Paint.
function hex(value: string): Rgb {
  const n = Number.parseInt(value.replace('#', ''), 16);
  return [((n >> 16) & 0xff) / 255, ((n >> 8) & 0xff) / 255, (n & 0xff) / 255];
}

function verticalGradient(top: Rgb, bottom: Rgb): Paint {
  return (_x, y) => [0, 1, 2].map((c) => top[c]! + (bottom[c]! - top[c]!) * y) as unknown as Rgb;
}

const WHITE = hex('#ffffff');

// Icons.
function extensionIcon(): Canvas {
  const canvas = new Canvas(128);
  const centre: Point = [0.5, 0.5];
  canvas.fill(roundedPolygon(...centre, 0.49, 7, 0.08), verticalGradient(hex('#5b8ff2'), hex('#2456c4')));

  // The helm of Kubernetes: a rim, seven spokes that end in knobs beyond it, and a hub.
  const [cx, cy] = centre;
  const spokes: Shape[] = [];
  for (let k = 0; k < 7; k++) {
    const angle = -Math.PI / 2 + (2 * Math.PI * k) / 7;
    const end: Point = [cx + 0.33 * Math.cos(angle), cy + 0.33 * Math.sin(angle)];
    spokes.push(segment(centre, end, 0.05), circle(...end, 0.042));
  }
  const helm = union(ring(cx, cy, 0.225, 0.06), ...spokes, circle(cx, cy, 0.095));
  canvas.fill(subtract(helm, circle(cx, cy, 0.045)), WHITE);

  // Delivery: an orange badge with an upward arrow, set off from the helm by a white rim.
  const badge: Point = [0.745, 0.735];
  canvas.fill(circle(...badge, 0.185), WHITE);
  canvas.fill(circle(...badge, 0.155), verticalGradient(hex('#ffb547'), hex('#f07c00')));
  const [bx, by] = badge;
  canvas.fill(arrowHead([bx, by - 0.105], -Math.PI / 2, 0.1, 0.085), WHITE);
  canvas.fill(segment([bx, by - 0.03], [bx, by + 0.085], 0.055), WHITE);
  return canvas;
}

/** A 32 px task icon: a rounded square in the task's colour, then its glyph in white. */
function taskIcon(top: string, bottom: string, glyph: (canvas: Canvas) => void): Canvas {
  const canvas = new Canvas(32);
  canvas.fill(roundedBox(0.5, 0.5, 0.47, 0.47, 0.17), verticalGradient(hex(top), hex(bottom)));
  glyph(canvas);
  return canvas;
}

/** FetchKeyVaultSecrets: a key. */
function keyIcon(): Canvas {
  return taskIcon('#f2a81d', '#c46f00', (canvas) => {
    canvas.fill(ring(0.34, 0.36, 0.135, 0.095), WHITE);
    canvas.fill(segment([0.44, 0.46], [0.78, 0.8], 0.1), WHITE);
    canvas.fill(segment([0.61, 0.63], [0.52, 0.72], 0.09), WHITE);
    canvas.fill(segment([0.73, 0.75], [0.65, 0.83], 0.09), WHITE);
  });
}

/** DeployAksTemplate: an arrow rising out of a tray. */
function deployIcon(): Canvas {
  return taskIcon('#4f86f0', '#1f4fb8', (canvas) => {
    canvas.fill(arrowHead([0.5, 0.13], -Math.PI / 2, 0.27, 0.25), WHITE);
    canvas.fill(segment([0.5, 0.36], [0.5, 0.64], 0.15), WHITE);
    canvas.fill(
      polyline(
        [
          [0.21, 0.62],
          [0.21, 0.82],
          [0.79, 0.82],
          [0.79, 0.62],
        ],
        0.09,
      ),
      WHITE,
    );
  });
}

/** RunAcceptanceTests: a check mark. */
function testIcon(): Canvas {
  return taskIcon('#34b35a', '#16803a', (canvas) => {
    canvas.fill(
      polyline(
        [
          [0.23, 0.52],
          [0.42, 0.71],
          [0.78, 0.3],
        ],
        0.135,
      ),
      WHITE,
    );
  });
}

/** PromoteImage: an arrow arching from one box (registry) to another. */
function promoteIcon(): Canvas {
  return taskIcon('#8a5cd6', '#5a2ea6', (canvas) => {
    canvas.fill(roundedBox(0.26, 0.74, 0.13, 0.13, 0.035), WHITE, 0.6);
    canvas.fill(roundedBox(0.74, 0.74, 0.13, 0.13, 0.035), WHITE);
    const [cx, cy, r] = [0.5, 0.47, 0.24] as const;
    canvas.fill(polyline([[cx - r, 0.62], ...arcPoints(cx, cy, r, Math.PI, 1.9 * Math.PI)], 0.085), WHITE);
    canvas.fill(arrowHead([cx + r, 0.57], Math.PI / 2, 0.18, 0.15), WHITE);
  });
}

const ICONS: readonly (readonly [string, () => Canvas])[] = [
  ['images/extension-icon.png', extensionIcon],
  ['tasks/fetch-keyvault-secrets/icon.png', keyIcon],
  ['tasks/deploy-aks-template/icon.png', deployIcon],
  ['tasks/run-acceptance-tests/icon.png', testIcon],
  ['tasks/promote-image/icon.png', promoteIcon],
];

if (require.main === module) {
  for (const [file, draw] of ICONS) {
    const target = path.join(REPO_ROOT, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, draw().png());
    console.log(`wrote ${file}`);
  }
}
