import * as tf from '@tensorflow/tfjs';

/*
 * Fixes to tfjs-backend-webgpu 4.22 kernels that training needs, registered for `webgpu` only
 * (the project's wasm kernels stay registered for wasm only).
 *
 * Transpose: the package's Cast from int32 or bool to float32 keeps the i32 buffer and only
 * relabels the tensor float32 (no precision is lost, so it skips the copy). Its general
 * Transpose program (any permutation other than a 2-D [1, 0]) then reads an i32 element and
 * passes it to setOutputAtIndex(f32): the WGSL does not compile ("type mismatch for argument 2
 * in call to 'setOutputAtIndex'") and the step fails. tfjs-layers' RNN casts its mask that way
 * and transposes it [1, 0, 2], so every masked recurrent model hit it. Here a tensor whose
 * buffer holds i32 goes through the same index mapping written for i32, into an i32 buffer
 * labelled as the input was: exact, and the same storage convention as the package's Cast.
 */

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const BACKEND = 'webgpu';

/** What this file uses of tfjs-backend-webgpu's WebGPUBackend (not in its public types). */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { dtype: tf.DataType } | undefined };
  shouldExecuteOnCPU(inputs: tf.TensorInfo[]): boolean;
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

/** The fields tfjs-backend-webgpu reads from a program (its WebGPUProgram interface). */
interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

const AXES = ['x', 'y', 'z', 'w', 'u', 'v'];
const WORKGROUP = 64;

/** Transpose of a tensor whose buffer holds i32 (int32, bool, or relabelled float32): i32 in, i32 out. */
class I32TransposeProgram implements WebGpuProgram {
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly variableNames = ['A'];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;

  constructor(
    shape: readonly number[],
    private readonly perm: readonly number[],
  ) {
    this.outputShape = perm.map((axis) => shape[axis]);
    this.shaderKey = `tfleet_transpose_i32_${perm.join('_')}`;
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    const size = this.outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    const rank = this.outputShape.length;
    const coordsType = rank <= 4 ? `vec${rank}<i32>` : `vec${rank}`;
    const switched = new Array<string>(rank);
    this.perm.forEach((axis, i) => (switched[axis] = `coords.${AXES[i]}`));
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          setOutputAtIndexI32(index, A[getIndexFromCoords${rank}D(${coordsType}(${switched.join(', ')}), uniforms.aShape)]);
        }
      }
    `;
  }
}
let registered = false;

function original(kernelName: string): KernelFn {
  const kernel = tf.getKernel(kernelName, BACKEND);
  if (!kernel) throw new Error(`tfjs-backend-webgpu has no ${kernelName} kernel to wrap`);
  return kernel.kernelFunc as unknown as KernelFn;
}

/** Registers the fixed kernels for `webgpu`. Call after the webgpu backend package loaded; idempotent. */
export function registerWebGpuKernels(): void {
  if (registered) return;
  const transpose = original('Transpose');
  tf.unregisterKernel('Transpose', BACKEND);
  tf.registerKernel({
    kernelName: 'Transpose',
    backendName: BACKEND,
    kernelFunc: ((args: KernelArgs) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const perm = (args.attrs?.['perm'] ?? []) as number[];
      const plain2d = x.shape.length === 2 && perm[0] === 1 && perm[1] === 0;
      const backend = args.backend as unknown as WebGpuBackendInternals;
      const stored = backend.tensorMap.get(x.dataId)?.dtype ?? x.dtype;
      if (stored === 'float32' || plain2d || x.shape.length < 2 || x.shape.length > 6 || backend.shouldExecuteOnCPU([x])) return transpose(args);
      const out = backend.runWebGPUProgram(new I32TransposeProgram(x.shape, perm), [x], 'int32');
      return { dataId: out.dataId, shape: out.shape, dtype: x.dtype };
    }) as unknown as tf.KernelFunc,
  });
  registered = true;
}
