import { drawChart } from "../vendor/chartlite/chartlite.js";

document.addEventListener("DOMContentLoaded", () => {
  const el = document.querySelector("#chart");
  if (el) drawChart(el, [3, 1, 4, 1, 5, 9, 2, 6]);
});
