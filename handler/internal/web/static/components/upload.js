// The spreadsheet: its upload (drop or choose, with progress) and what
// was read of it. The dashboard's campaign page and the task pane both
// show these.
import { html, useState, useRef } from "preact-htm";
import { uploadData } from "app/api/campaigns";
import { ErrorBox, Progress, plural } from "app/ui";

export function Upload({ c, onDone }) {
  const [drag, setDrag] = useState(false);
  const [pct, setPct] = useState(null);
  const [error, setError] = useState(null);
  const input = useRef(null);
  const send = async (file) => {
    if (!file) return;
    setError(null);
    setPct(0);
    try {
      await uploadData(c.id, file, setPct);
      setPct(null);
      onDone();
    } catch (err) {
      setPct(null);
      setError(err);
    }
  };
  const drop = (e) => {
    e.preventDefault();
    setDrag(false);
    send(e.dataTransfer.files[0]);
  };
  return html`<div class=${"drop" + (drag ? " over" : "")} onDragOver=${(e) => { e.preventDefault(); setDrag(true); }}
      onDragLeave=${() => setDrag(false)} onDrop=${drop}>
    <p><span class="pointer-only">Drop your spreadsheet here</span><span class="touch-only">Your spreadsheet</span> (.xlsx or .csv, up to 10 MB):</p>
    <input ref=${input} id="file" type="file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
      class="visually-hidden" onChange=${(e) => send(e.target.files[0])} />
    <label for="file" class="button secondary" tabindex="0" onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), input.current.click())}>Choose a file</label>
    ${pct !== null && html`<${Progress} value=${pct} label="Upload" /><p role="status">Uploading… ${Math.round(pct * 100)}%</p>`}
    <${ErrorBox} error=${error} />
  </div>`;
}

export function DataReport({ d }) {
  if (!d || d.status === "none") return null;
  if (d.status === "processing") return html`<p role="status"><span class="spinner" aria-hidden="true"></span>Reading ${d.fileName || "your file"}…</p>`;
  if (d.error) return html`<div class="error" role="alert"><p><strong>${d.fileName}:</strong> ${d.error.message}</p></div>`;
  const issues = (d.report && d.report.issues) || [];
  return html`<div class="data">
    <p><strong>${d.fileName}</strong>${d.sheet ? html` (sheet ${d.sheet})` : ""}: ${`${plural(d.rows, "row")}, ${d.validRows.toLocaleString()} will be sent${d.skippedRows ? `, ${d.skippedRows.toLocaleString()} skipped` : ""}${d.unsubscribedRows ? ` (${d.unsubscribedRows.toLocaleString()} on your unsubscribe list)` : ""}.`}</p>
    <p class="small">Columns: ${d.columns.map((col, i) => html`${i ? ", " : ""}<code>${col}</code>`)}</p>
    ${issues.length > 0 && html`<details open=${issues.some((i) => i.severity === "error")}>
      <summary>${plural(issues.length, "note")} on rows${d.report.truncated ? " (the first ones)" : ""}</summary>
      <div class="scroll" tabindex="0" role="region" aria-label="Notes on rows"><table class="issues stack"><thead><tr><th scope="col">Row</th><th scope="col">Column</th><th scope="col">What</th></tr></thead>
      <tbody>${issues.map((i) => html`<tr class=${i.severity}><td data-label="Row">${i.row || "—"}</td><td data-label="Column">${i.column || ""}</td>
        <td data-label="What">${i.severity === "error" ? "Skipped: " : ""}${i.message}</td></tr>`)}</tbody></table></div>
    </details>`}
  </div>`;
}
