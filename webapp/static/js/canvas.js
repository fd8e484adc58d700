// The drawing surface: records strokes from mouse, touch and pen, and draws the pen line.
//
// Strokes are kept in Quick Draw's format, [[x0, x1, ...], [y0, y1, ...]], in the canvas's
// CSS pixels. The preprocessing normalises scale and position, so the canvas size never
// matters to the model; only the shape of the strokes does.

const PEN_COLOR = '#1d1a22';
// The visible pen scales with the canvas so a drawing looks the same on a phone and a desktop.
const PEN_WIDTH_FRACTION = 0.014;
const MIN_PEN_WIDTH = 3;
// One decimal of a CSS pixel is finer than any pointer reports and keeps payloads small.
const COORDINATE_PRECISION = 10;

/**
 * A canvas that records strokes. Dispatches `change` events whose `detail` is
 * `{reason, revision}`, with reason one of 'draw' (a point was added to the stroke being
 * drawn), 'stroke-end', 'undo', 'clear' or 'resize'.
 */
export class DrawingCanvas extends EventTarget {
  /** Attach to a <canvas> element; its CSS decides its size, kept square by the stylesheet. */
  constructor(canvasElement) {
    super();
    this.element = canvasElement;
    this.context = canvasElement.getContext('2d');
    this.paths = []; // Each stroke as an array of [x, y] points, the form drawing needs.
    this.activePointerId = null;
    this.revision = 0;
    this.side = 0;
    this.pixelRatio = 1;
    this.locked = false;

    canvasElement.addEventListener('pointerdown', (event) => this.onPointerDown(event));
    canvasElement.addEventListener('pointermove', (event) => this.onPointerMove(event));
    canvasElement.addEventListener('pointerup', (event) => this.onPointerEnd(event));
    canvasElement.addEventListener('pointercancel', (event) => this.onPointerEnd(event));
    canvasElement.addEventListener('lostpointercapture', (event) => this.onPointerEnd(event));
    // A long press on touch screens would otherwise open a context menu mid-stroke.
    canvasElement.addEventListener('contextmenu', (event) => event.preventDefault());

    this.fitToLayout();
    new ResizeObserver(() => this.fitToLayout()).observe(canvasElement);
  }

  /** The drawing in Quick Draw's format: a fresh copy, safe to send or keep. */
  get strokes() {
    return this.paths.map((points) => [points.map(([x]) => x), points.map(([, y]) => y)]);
  }

  /** Whether there is nothing drawn. */
  get isEmpty() {
    return this.paths.length === 0;
  }

  /** Whether a stroke is being drawn right now. */
  get isDrawing() {
    return this.activePointerId !== null;
  }

  /** Stop (or allow again) drawing: the game locks the canvas when a round ends. */
  setLocked(locked) {
    this.locked = locked;
    if (locked && this.isDrawing) {
      // The stroke ends here; the pointer keeps its capture until the finger lifts, since
      // releasing a touch mid-gesture leaves Chrome swallowing the next tap.
      this.activePointerId = null;
      this.emitChange('stroke-end');
    }
    this.element.dataset.locked = String(locked);
  }

  /**
   * Replace the drawing with `strokes` (Quick Draw format) drawn on a canvas `side` CSS pixels
   * wide, rescaled to this one: how a drawing moves from the draw page to the contribute page.
   */
  load(strokes, side) {
    this.endStroke();
    const scale = side > 0 && this.side > 0 ? this.side / side : 1;
    this.paths = strokes
      .filter(([xs, ys]) => Array.isArray(xs) && Array.isArray(ys) && xs.length === ys.length && xs.length > 0)
      .map(([xs, ys]) => xs.map((x, index) => [x * scale, ys[index] * scale]));
    this.redraw();
    this.emitChange('load');
  }

  /** Remove the last stroke. */
  undo() {
    if (this.isEmpty) return;
    this.endStroke();
    this.paths.pop();
    this.redraw();
    this.emitChange('undo');
  }

  /** Remove every stroke. */
  clear() {
    if (this.isEmpty) return;
    this.endStroke();
    this.paths = [];
    this.redraw();
    this.emitChange('clear');
  }

  onPointerDown(event) {
    // Only the primary button draws, and only one pointer at a time (a second finger is ignored).
    // A locked canvas still swallows the touch: no tap or gesture of a finger still drawing
    // after the game locked it may leak to the buttons around it.
    if (this.locked) {
      event.preventDefault();
      return;
    }
    if (this.isDrawing || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    this.activePointerId = event.pointerId;
    // Capture keeps the stroke going when the pointer leaves the canvas mid-line.
    this.element.setPointerCapture(event.pointerId);
    const point = this.pointFromEvent(event);
    this.paths.push([point]);
    this.drawSegment(point, point);
    this.emitChange('draw');
  }

  onPointerMove(event) {
    if (event.pointerId !== this.activePointerId) return;
    const points = this.paths[this.paths.length - 1];
    // Coalesced events carry the points the browser merged into one frame: smoother lines.
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    let added = false;
    for (const sample of events.length ? events : [event]) {
      const point = this.pointFromEvent(sample);
      const last = points[points.length - 1];
      if (point[0] === last[0] && point[1] === last[1]) continue;
      points.push(point);
      this.drawSegment(last, point);
      added = true;
    }
    if (added) this.emitChange('draw');
  }

  onPointerEnd(event) {
    if (event.pointerId !== this.activePointerId) return;
    this.endStroke();
    this.emitChange('stroke-end');
  }

  endStroke() {
    if (!this.isDrawing) return;
    const pointerId = this.activePointerId;
    this.activePointerId = null;
    if (this.element.hasPointerCapture(pointerId)) this.element.releasePointerCapture(pointerId);
  }

  pointFromEvent(event) {
    const box = this.element.getBoundingClientRect();
    const clamp = (value, high) => Math.min(Math.max(value, 0), high);
    const round = (value) => Math.round(value * COORDINATE_PRECISION) / COORDINATE_PRECISION;
    return [round(clamp(event.clientX - box.left, box.width)), round(clamp(event.clientY - box.top, box.height))];
  }

  /** Match the backing store to the CSS size and device pixels, rescaling strokes to fit. */
  fitToLayout() {
    const side = this.element.clientWidth;
    const pixelRatio = window.devicePixelRatio || 1;
    if (side === 0 || (side === this.side && pixelRatio === this.pixelRatio)) return;
    if (this.side > 0 && side !== this.side) {
      const scale = side / this.side;
      this.paths = this.paths.map((points) => points.map(([x, y]) => [x * scale, y * scale]));
    }
    this.side = side;
    this.pixelRatio = pixelRatio;
    this.element.width = Math.round(side * pixelRatio);
    this.element.height = Math.round(side * pixelRatio);
    this.redraw();
    if (!this.isEmpty) this.emitChange('resize');
  }

  applyPen() {
    const context = this.context;
    // Draw in CSS pixels; the transform maps them onto the denser backing store.
    context.setTransform(this.pixelRatio, 0, 0, this.pixelRatio, 0, 0);
    context.strokeStyle = PEN_COLOR;
    context.lineWidth = Math.max(MIN_PEN_WIDTH, this.side * PEN_WIDTH_FRACTION);
    context.lineCap = 'round';
    context.lineJoin = 'round';
  }

  drawSegment(from, to) {
    this.applyPen();
    this.context.beginPath();
    this.context.moveTo(from[0], from[1]);
    this.context.lineTo(to[0], to[1]);
    this.context.stroke();
  }

  redraw() {
    this.context.setTransform(1, 0, 0, 1, 0, 0);
    this.context.clearRect(0, 0, this.element.width, this.element.height);
    this.applyPen();
    for (const points of this.paths) {
      this.context.beginPath();
      this.context.moveTo(points[0][0], points[0][1]);
      // A single point still shows as a dot: a zero-length line with round caps.
      for (const [x, y] of points.length > 1 ? points.slice(1) : points) this.context.lineTo(x, y);
      this.context.stroke();
    }
  }

  emitChange(reason) {
    this.revision += 1;
    this.element.dataset.revision = String(this.revision);
    this.dispatchEvent(new CustomEvent('change', { detail: { reason, revision: this.revision } }));
  }
}

/** Draw Quick Draw strokes on a small <canvas>, scaled to fit its `side` CSS pixels with a margin. */
export function drawThumbnail(canvasElement, strokes, side = 96) {
  const pixelRatio = window.devicePixelRatio || 1;
  canvasElement.width = Math.round(side * pixelRatio);
  canvasElement.height = Math.round(side * pixelRatio);
  const context = canvasElement.getContext('2d');
  const xs = strokes.flatMap(([strokeXs]) => strokeXs);
  const ys = strokes.flatMap(([, strokeYs]) => strokeYs);
  if (xs.length === 0) return;
  const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
  const extent = Math.max(Math.max(...xs) - minX, Math.max(...ys) - minY, 1);
  const margin = side * 0.1;
  const scale = (side - 2 * margin) / extent;
  // Centre the drawing along its shorter side.
  const offsetX = margin + (side - 2 * margin - (Math.max(...xs) - minX) * scale) / 2;
  const offsetY = margin + (side - 2 * margin - (Math.max(...ys) - minY) * scale) / 2;
  context.setTransform(pixelRatio, 0, 0, pixelRatio, 0, 0);
  context.strokeStyle = getComputedStyle(canvasElement).color || PEN_COLOR;
  context.lineWidth = 2;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  for (const [strokeXs, strokeYs] of strokes) {
    context.beginPath();
    context.moveTo(offsetX + (strokeXs[0] - minX) * scale, offsetY + (strokeYs[0] - minY) * scale);
    for (let index = strokeXs.length > 1 ? 1 : 0; index < strokeXs.length; index += 1) {
      context.lineTo(offsetX + (strokeXs[index] - minX) * scale, offsetY + (strokeYs[index] - minY) * scale);
    }
    context.stroke();
  }
}
