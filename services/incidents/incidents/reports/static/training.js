// The training page's charts, from the JSON block the page carries (no inline script:
// the Content-Security-Policy allows scripts from this origin only).
(function () {
  const data = JSON.parse(document.getElementById("training-data").textContent);
  const pct = (v) => v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
  const years = echarts.init(document.getElementById("chart-years"));
  years.setOption({
    tooltip: { trigger: "axis", valueFormatter: pct },
    xAxis: { type: "category", data: data.trend.map((p) => String(p.year)) },
    yAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => (v * 100) + "%" } },
    series: [
      { name: "覆盖率", type: "bar", data: data.trend.map((p) => p.coverage),
        label: { show: true, position: "top", formatter: (p) => pct(p.value) } },
      { name: "目标", type: "line", data: data.trend.map(() => 1), symbol: "none",
        lineStyle: { type: "dashed", color: "#1565c0" } }
    ]
  });
  const counties = data.report.counties.slice().sort((a, b) => (a.coverage ?? -1) - (b.coverage ?? -1));
  const county = echarts.init(document.getElementById("chart-counties"));
  county.setOption({
    tooltip: { trigger: "axis", valueFormatter: pct },
    grid: { left: 90, right: 60 },
    xAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => (v * 100) + "%" } },
    yAxis: { type: "category", data: counties.map((c) => c.division_name) },
    series: [{ name: "覆盖率", type: "bar", data: counties.map((c) => ({ value: c.coverage,
      itemStyle: { color: c.coverage === 1 ? "#2e7d32" : "#c62828" } })),
      label: { show: true, position: "right", formatter: (p) => pct(p.value) } }]
  });
  window.addEventListener("resize", () => { years.resize(); county.resize(); });
})();
