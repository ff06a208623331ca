import uPlot from 'uplot';

export interface Series {
  label: string;
  values: (number | null)[];
}

const COLOURS = ['#1f6feb', '#d1242f', '#2da44e', '#bf8700', '#8250df', '#0a7ea4', '#cf222e', '#57606a'];

/**
 * A line chart (uPlot) that fills its container's width and follows it when the page is
 * resized (a phone turned sideways). Returns a function that redraws with new data.
 */
export function lineChart(container: HTMLElement, title: string, xLabel: string, x: number[], series: Series[]): (x: number[], series: Series[]) => void {
  container.replaceChildren();
  const width = () => Math.max(260, container.clientWidth || 600);
  const options = (list: Series[]): uPlot.Options => ({
    title,
    width: width(),
    height: 260,
    scales: { x: { time: false } },
    // Epochs and steps are whole numbers: no ticks between them.
    axes: [{ label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }, {}],
    series: [{ label: xLabel }, ...list.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true, size: 5 } }))],
  });
  let plot = new uPlot(options(series), [x, ...series.map((s) => s.values)] as uPlot.AlignedData, container);
  const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
  observer.observe(container);
  return (nextX, nextSeries) => {
    if (nextSeries.length !== series.length) {
      plot.destroy();
      series = nextSeries;
      plot = new uPlot(options(nextSeries), [nextX, ...nextSeries.map((s) => s.values)] as uPlot.AlignedData, container);
      return;
    }
    plot.setData([nextX, ...nextSeries.map((s) => s.values)] as uPlot.AlignedData);
  };
}
