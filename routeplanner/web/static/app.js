// The only script of the pages (the Content-Security-Policy allows no inline code): a <select
// marked data-autosubmit submits its form when changed, as the rep pickers do. Without
// JavaScript the form's button does the same.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
