// The pneumoconiosis chart of the trends page, from the JSON block the page carries (no
// inline script: the Content-Security-Policy allows scripts from this origin only).
window.addEventListener("load", function () {
  if (typeof echarts === "undefined") { return; }
  const data = JSON.parse(document.getElementById("incidence-data").textContent);
  const counties = data.counties;
  const chart = echarts.init(document.getElementById("chart-pneumoconiosis"));
  chart.setOption({
    title: { text: "尘肺病发生率(1/10万): " + data.year + " 年与 2020 年基期", left: "center", textStyle: { fontSize: 15 } },
    tooltip: { trigger: "axis" }, legend: { top: 28 },
    grid: { left: 90, right: 40, top: 60 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: counties.map((c) => c.division_name) },
    series: [
      { name: "基期", type: "bar", data: counties.map((c) => c.pneumoconiosis_baseline_per_100k), itemStyle: { color: "#9e9e9e" } },
      { name: "" + data.year + " 年", type: "bar", data: counties.map((c) => ({ value: c.pneumoconiosis_per_100k,
          itemStyle: { color: c.pneumoconiosis_direction === "rising" ? "#c62828" : "#2e7d32" } })) }
    ]
  });
});
