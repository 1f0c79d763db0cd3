// The one confirmation dialog every installer action goes through: what will happen, the inputs,
// an explicit Confirm, then the hub's steps as they happen and the outcome. A native <dialog>
// (showModal): focus stays inside, Escape cancels, focus returns to the button that opened it.
import { $, el, post } from "./lib.js";

/**
 * ask({title, text, fields, confirm, danger, action, body(values) -> JSON, done(response, out)})
 * fields: [{name, label, value, required, pattern, type, list, readonly, hint}]
 * Resolves with the action's response, or null when cancelled.
 */
export function ask(opts) {
  const dlg = $("#dlg");
  const opener = document.activeElement;
  $("#dlg-title").textContent = opts.title;
  $("#dlg-text").textContent = opts.text ?? "";
  const inputs = (opts.fields ?? []).map((f) => {
    const input = f.type === "checkbox"
      ? el("input", { type: "checkbox", name: f.name, id: `dlg-${f.name}`, checked: f.value === true })
      : el("input", { type: f.type ?? "text", name: f.name, id: `dlg-${f.name}`, value: f.value ?? "", required: f.required, pattern: f.pattern, list: f.list, readonly: f.readonly, autocomplete: "off", spellcheck: "false" });
    const label = el("label", { for: `dlg-${f.name}`, class: f.type === "checkbox" ? "check" : null }, f.type === "checkbox" ? input : null, f.label, f.type === "checkbox" ? null : input);
    return { f, input, node: f.hint ? el("div", {}, label, el("small", { class: "muted" }, f.hint)) : label };
  });
  $("#dlg-fields").replaceChildren(...inputs.map((i) => i.node));
  const steps = $("#dlg-steps");
  steps.hidden = true;
  steps.replaceChildren();
  const ok = $("#dlg-ok"), cancel = $("#dlg-cancel");
  ok.hidden = false; ok.disabled = false; cancel.disabled = false;
  ok.textContent = opts.confirm ?? "Confirm";
  ok.className = opts.danger ? "danger" : "primary";
  cancel.textContent = "Cancel";
  dlg.dataset.action = opts.action;
  dlg.showModal();

  return new Promise((resolve) => {
    let result = null, running = false;
    const finish = () => {
      ok.onclick = null; cancel.onclick = null; $("#dlg-form").onsubmit = null; dlg.onclose = null;
      if (dlg.open) dlg.close();
      steps.replaceChildren(); // nothing shown in the dialog (a revealed code) stays in the page
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    };
    dlg.onclose = () => { if (!running) finish(); };
    dlg.oncancel = (ev) => { if (running) ev.preventDefault(); };
    cancel.onclick = () => { if (!running) finish(); };
    $("#dlg-form").onsubmit = (ev) => { ev.preventDefault(); void confirm(); };
    ok.onclick = (ev) => { ev.preventDefault(); void confirm(); };
    const line = (text, cls) => { steps.append(el("div", { class: cls }, text)); steps.scrollTop = steps.scrollHeight; };
    async function confirm() {
      if (running) return;
      for (const { input } of inputs) if (!input.reportValidity()) return;
      const values = Object.fromEntries(inputs.map(({ f, input }) => [f.name, f.type === "checkbox" ? input.checked : input.value.trim()]));
      running = true; ok.disabled = true; cancel.disabled = true;
      for (const { input } of inputs) input.disabled = true;
      steps.hidden = false;
      try {
        result = await post(`/api/actions/${opts.action}`, opts.body(values), (s) => line(s));
        if (result.ok) line(opts.doneText?.(result) ?? "Done.", "online");
        else line(`Refused: ${result.error.message} (${result.error.code})`, "err");
        opts.done?.(result, steps);
      } catch (e) {
        line(e.auth ? "The installer token was refused (it may have been rotated): reload and sign in again." : `Failed: ${e.message}`, "err");
      }
      running = false;
      ok.hidden = true; cancel.disabled = false; cancel.textContent = "Close"; cancel.focus();
    }
  });
}
