// chartlite: a tiny bar-chart helper (vendored example library).
export function drawChart(el, values) {
  const max = Math.max(...values);
  el.innerHTML = values
    .map((v) => `<span style="display:inline-block;width:8px;margin:1px;height:${(40 * v) / max}px;background:#2a6"></span>`)
    .join("");
}
