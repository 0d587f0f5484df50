// Line charts drawn by hand on <canvas> for the Cloud Kafka console: no
// chart library, nothing fetched.

import { clockTime } from './dom.js';

// ---------------------------------------------------------------------------
// Canvas line charts, drawn by hand
// ---------------------------------------------------------------------------

const CHART_PAD_PX = { right: 12, top: 10, bottom: 26 };
const CHART_TICKS_Y = 4;
const CHART_TICK_SPACING_X_PX = 110;

// drawChart draws line series on a canvas: spec.series is a list of
// {color, points: [{t, v}]}, t in ms since the epoch. The y axis starts at
// zero and ends at a round number; points that are not numbers leave gaps.
export function drawChart(canvas, spec) {
  canvas.setAttribute('data-samples', String(spec.samples));
  const surface = prepareCanvas(canvas);
  if (!surface) return;
  const finite = (p) => Number.isFinite(p.t) && Number.isFinite(p.v);
  const points = spec.series.flatMap((s) => s.points).filter(finite);
  if (points.length === 0) {
    drawEmpty(surface, spec.emptyText);
    return;
  }
  const scale = chartScale(surface, points, spec);
  drawGrid(surface, scale, spec.formatY);
  for (const s of spec.series) drawLine(surface, scale, s.color, s.points);
}

// prepareCanvas sizes the canvas backing store to its CSS box times the
// device pixel ratio, so lines stay sharp, and clears it.
function prepareCanvas(canvas) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return null;
  const ratio = window.devicePixelRatio || 1;
  const backingWidth = Math.round(width * ratio);
  const backingHeight = Math.round(height * ratio);
  if (canvas.width !== backingWidth) canvas.width = backingWidth;
  if (canvas.height !== backingHeight) canvas.height = backingHeight;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const style = getComputedStyle(canvas);
  g.font = `12px ${style.fontFamily}`;
  const root = getComputedStyle(document.documentElement);
  const text = root.getPropertyValue('--chart-text').trim() || '#667085';
  const grid = root.getPropertyValue('--chart-grid').trim() || '#e6e9ee';
  return { g, width, height, text, grid };
}

function drawEmpty(surface, text) {
  const { g, width, height } = surface;
  g.fillStyle = surface.text;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, width / 2, height / 2, width - 16);
}

// niceScale picks a step of 1, 2 or 5 times a power of ten so that about
// CHART_TICKS_Y steps cover `max`.
function niceScale(max, integer) {
  if (!(max > 0)) return { step: 1, top: CHART_TICKS_Y };
  const raw = max / CHART_TICKS_Y;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  if (integer) step = Math.max(1, Math.round(step));
  return { step, top: step * Math.ceil(max / step) };
}

function chartScale(surface, points, spec) {
  const { g, width, height } = surface;
  let tMin = Infinity;
  let tMax = -Infinity;
  let vMax = 0;
  for (const p of points) {
    tMin = Math.min(tMin, p.t);
    tMax = Math.max(tMax, p.t);
    vMax = Math.max(vMax, p.v);
  }
  // One sample still needs a time span to draw in.
  if (tMax === tMin) tMin -= 1000;
  const { step, top } = niceScale(vMax, spec.integer);
  const ticks = [];
  for (let i = 0; i * step <= top + step / 2; i += 1) ticks.push(i * step);
  const labelWidth = Math.max(...ticks.map((v) => g.measureText(spec.formatY(v)).width));
  const box = {
    left: Math.ceil(labelWidth) + 12, right: width - CHART_PAD_PX.right,
    top: CHART_PAD_PX.top, bottom: height - CHART_PAD_PX.bottom,
  };
  return {
    box, ticks, tMin, tMax,
    x: (t) => box.left + ((t - tMin) / (tMax - tMin)) * (box.right - box.left),
    y: (v) => box.bottom - (v / top) * (box.bottom - box.top),
  };
}

function drawGrid(surface, scale, formatY) {
  const { g } = surface;
  const { box } = scale;
  g.lineWidth = 1;
  g.strokeStyle = surface.grid;
  g.fillStyle = surface.text;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of scale.ticks) {
    const y = Math.round(scale.y(v)) + 0.5;
    g.beginPath();
    g.moveTo(box.left, y);
    g.lineTo(box.right, y);
    g.stroke();
    g.fillText(formatY(v), box.left - 6, y);
  }
  const count = Math.max(1, Math.floor((box.right - box.left) / CHART_TICK_SPACING_X_PX));
  g.textBaseline = 'top';
  for (let i = 0; i <= count; i += 1) {
    const t = scale.tMin + ((scale.tMax - scale.tMin) * i) / count;
    g.textAlign = i === 0 ? 'left' : i === count ? 'right' : 'center';
    g.fillText(clockTime(t), scale.x(t), box.bottom + 6);
  }
}

function drawLine(surface, scale, color, points) {
  const { g } = surface;
  const sorted = points.filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 2;
  g.lineJoin = 'round';
  g.beginPath();
  let drawing = false;
  let drawn = 0;
  for (const p of sorted) {
    if (!Number.isFinite(p.v)) {
      drawing = false;
      continue;
    }
    if (drawing) g.lineTo(scale.x(p.t), scale.y(p.v));
    else g.moveTo(scale.x(p.t), scale.y(p.v));
    drawing = true;
    drawn += 1;
  }
  g.stroke();
  // A single sample is a dot, as a line through one point is invisible.
  if (drawn === 1) {
    const p = sorted.find((q) => Number.isFinite(q.v));
    g.beginPath();
    g.arc(scale.x(p.t), scale.y(p.v), 3, 0, 2 * Math.PI);
    g.fill();
  }
}
