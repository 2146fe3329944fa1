// Coverage bar chart on the overview; data comes from a json_script tag (no inline JS, CSP-friendly).
(function () {
  var el = document.getElementById("chart-children");
  var dataEl = document.getElementById("chart-children-data");
  if (!el || !dataEl || !window.echarts) return;
  var data = JSON.parse(dataEl.textContent);
  var chart = window.echarts.init(el);
  chart.setOption({
    // richText draws the tooltip on the canvas: the HTML tooltip is markup with style="" attributes,
    // which the Content-Security-Policy (style-src 'self') refuses.
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { data: data.series.map(function (s) { return s.name; }) },
    grid: { left: 40, right: 10, bottom: 60, top: 30 },
    xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: 30, fontSize: 10 } },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.values }; }),
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
