import { ApiError, post } from '../api.js';
import { field, h, uid } from '../dom.js';
import { num } from '../format.js';

/** The answers of POST /api/experiments/:id/predict (README, "Export and prediction"). */
type Prediction =
  | { kind: 'classes'; label: string; probabilities: { label: string; probability: number }[] }
  | { kind: 'continuation'; next: string[]; text: string }
  | { kind: 'sequence'; output: (string | number)[] }
  | { kind: 'value'; value: number };

/** A text box that builds the body from what is typed (the JSON box takes any body). */
interface TextInput {
  label: string;
  body: (text: string) => Record<string, unknown>;
  multiline?: boolean;
}

/** Per data set: an example body for the JSON box and, for text tasks, a text box. */
const TASKS: Record<string, { example: unknown; text?: TextInput; drawing?: boolean }> = {
  mnist: { example: { image: Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => 0)) }, drawing: true },
  brown: { example: { prompt: 'The jury said', count: 5 }, text: { label: 'Prompt', body: (prompt) => ({ prompt, count: 5 }) } },
  cmudict: { example: { word: 'cat' }, text: { label: 'Word', body: (word) => ({ word }) } },
  copy: { example: { tokens: [0, 3, 1] } },
  'spam-assassin': { example: { subject: 'Re: meeting', text: 'See you at noon.' }, text: { label: 'Message text', body: (text) => ({ text }), multiline: true } },
  adding: { example: { sequence: [[0.3, 0], [0.8, 1], [0.1, 0], [0.5, 1]] } },
};

/** Data sets whose recurrent models are encoder-decoders, which the API does not export as model.json (README). */
const ENCODER_DECODERS = ['cmudict', 'copy'];

/** MNIST's size: the drawing is averaged down to 28 x 28 grey levels in [0, 1] (1 = ink). */
const SIDE = 28;
const SCALE = 8;

/**
 * The predict box of a completed experiment whose data set allows one, and how to fetch its
 * export (a snippet, since model.json needs the key header). Null for other data sets.
 */
export function predictSection(id: string, dataset: string): HTMLElement | null {
  const task = TASKS[dataset];
  if (!task) return null;
  const answer = h('div', { className: 'prediction', role: 'status', 'aria-live': 'polite' });
  const errorId = uid('predict-error');
  const error = h('p', { className: 'field-error', id: errorId, role: 'alert' });
  let lastControl: HTMLElement | null = null;

  const send = (body: unknown, control: HTMLElement) => {
    lastControl?.removeAttribute('aria-invalid');
    lastControl?.removeAttribute('aria-describedby');
    lastControl = control;
    error.textContent = '';
    answer.textContent = 'Predicting…';
    post<{ prediction: Prediction }>(`/experiments/${encodeURIComponent(id)}/predict`, body).then(
      (result) => answer.replaceChildren(showPrediction(result.prediction)),
      (e: unknown) => {
        answer.replaceChildren();
        error.textContent = e instanceof ApiError ? `${e.status}: ${e.issues.length > 0 ? e.issues.map((i) => `${i.field}: ${i.message}`).join('; ') : e.message}` : String(e);
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', errorId);
      },
    );
  };

  const inputs: HTMLElement[] = [];
  if (task.drawing) inputs.push(drawingPad((image, canvas) => send({ image }, canvas)));
  if (task.text) {
    const text = task.text;
    const box = text.multiline ? h('textarea', { name: 'predict-text', rows: 4, className: 'short' }) : h('input', { type: 'text', name: 'predict-text' });
    const form = h('form', { className: 'row', 'aria-label': `Predict from ${text.label.toLowerCase()}` }, field(text.label, box), h('button', { type: 'submit', className: 'primary' }, 'Predict'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      send(text.body(box.value), box);
    });
    inputs.push(form);
  }
  const jsonBox = h('textarea', { name: 'predict-json', rows: 4, className: 'short', spellcheck: 'false' });
  jsonBox.value = JSON.stringify(task.example);
  const jsonForm = h('form', { 'aria-label': 'Predict from JSON' }, field('Prediction input (JSON)', jsonBox), h('button', { type: 'submit' }, 'Predict from JSON'));
  jsonForm.addEventListener('submit', (event) => {
    event.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(jsonBox.value);
    } catch (e) {
      error.textContent = `Not JSON: ${e instanceof Error ? e.message : String(e)}`;
      jsonBox.setAttribute('aria-invalid', 'true');
      jsonBox.setAttribute('aria-describedby', errorId);
      lastControl = jsonBox;
      return;
    }
    send(body, jsonBox);
  });
  inputs.push(h('details', {}, h('summary', {}, 'JSON input'), jsonForm));

  const origin = location.origin;
  const exportSnippet = [
    `curl -s ${origin}/api/experiments/${id}/model/model.json -H "Authorization: Bearer $KEY"`,
    `curl -s ${origin}/api/experiments/${id}/model/task.json -H "Authorization: Bearer $KEY"`,
    '',
    '// TensorFlow.js (weights.bin is fetched with the same header)',
    `const model = await tf.loadLayersModel('${origin}/api/experiments/${id}/model/model.json',`,
    '  { requestInit: { headers: { Authorization: `Bearer ${key}` } } });',
  ].join('\n');
  return h(
    'section',
    { className: 'card', 'aria-label': 'Predict' },
    h('h2', {}, 'Predict'),
    h('div', { className: 'predict-grid' }, h('div', {}, ...inputs, error), answer),
    h('h3', {}, 'Export'),
    h('p', { className: 'muted' }, 'The model (tfjs layers format) needs the key header, so fetch it like this ($KEY: your API key):'),
    ENCODER_DECODERS.includes(dataset) ? h('p', { className: 'muted' }, "A recurrent encoder-decoder on this task has no model.json (409: tfjs-layers cannot carry the encoder's state to the decoder); task.json and predict serve it.") : null,
    h('pre', { className: 'spec', 'aria-label': 'Export snippet' }, exportSnippet),
  );
}

/** The answer: class probabilities as bars, generated text, an output sequence, or a value. */
function showPrediction(p: Prediction): HTMLElement {
  switch (p.kind) {
    case 'classes':
      return h(
        'div',
        {},
        h('p', {}, 'Label: ', h('strong', { className: 'predicted-label' }, p.label)),
        h(
          'ol',
          { className: 'probabilities', 'aria-label': 'Class probabilities' },
          ...p.probabilities.map((c) =>
            h('li', { 'data-label': c.label, 'data-probability': c.probability }, h('span', { className: 'prob-label' }, c.label), h('meter', { min: 0, max: 1, value: c.probability, 'aria-label': `probability of ${c.label}` }), h('span', { className: 'num' }, num(c.probability, 3))),
          ),
        ),
      );
    case 'continuation':
      return h('div', {}, h('p', {}, 'Generated: ', h('strong', { className: 'predicted-text' }, p.text)), h('p', { className: 'muted' }, `next: ${p.next.join(' ')}`));
    case 'sequence':
      return h('p', {}, 'Output: ', h('strong', { className: 'predicted-sequence' }, p.output.length > 0 ? p.output.join(' ') : '(empty: the end token came first)'));
    case 'value':
      return h('p', {}, 'Value: ', h('strong', { className: 'predicted-value' }, num(p.value, 4)));
  }
}

/**
 * A canvas to draw a digit on (pointer: mouse, pen or finger), averaged down to 28 x 28 grey
 * levels in [0, 1] with white ink on black, as MNIST's digits are.
 */
function drawingPad(onPredict: (image: number[][], canvas: HTMLCanvasElement) => void): HTMLElement {
  const canvas = h('canvas', { width: SIDE * SCALE, height: SIDE * SCALE, className: 'drawing', 'aria-label': 'Drawing pad for a digit (28 x 28)', role: 'img' });
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  const reset = () => {
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
  };
  reset();
  let drawing = false;
  let last: [number, number] | null = null;
  const at = (event: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
  };
  canvas.addEventListener('pointerdown', (event) => {
    drawing = true;
    last = at(event);
    canvas.setPointerCapture?.(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing || !last) return;
    const next = at(event);
    context.strokeStyle = '#fff';
    context.lineWidth = SCALE * 2.2;
    context.lineCap = 'round';
    context.beginPath();
    context.moveTo(...last);
    context.lineTo(...next);
    context.stroke();
    last = next;
  });
  const stop = () => {
    drawing = false;
    last = null;
  };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointerleave', stop);
  const image = (): number[][] => {
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from({ length: SIDE }, (_, row) =>
      Array.from({ length: SIDE }, (_, col) => {
        let sum = 0;
        for (let y = 0; y < SCALE; y++) for (let x = 0; x < SCALE; x++) sum += pixels[((row * SCALE + y) * canvas.width + col * SCALE + x) * 4]!;
        return Math.round((sum / (SCALE * SCALE * 255)) * 1000) / 1000;
      }),
    );
  };
  const predict = h('button', { type: 'button', className: 'primary' }, 'Predict drawing');
  predict.addEventListener('click', () => onPredict(image(), canvas));
  const clearButton = h('button', { type: 'button' }, 'Clear drawing');
  clearButton.addEventListener('click', reset);
  return h('div', { className: 'drawing-pad' }, h('p', { className: 'muted' }, 'Draw a digit:'), canvas, h('div', { className: 'row' }, predict, clearButton));
}
