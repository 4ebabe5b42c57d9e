// The customer picker: type a name (any word order), e-mail or phone (any form) and choose the
// customer from the list (/customers/pick). It stands in front of a customer-number field
// marked data-customer-picker, which keeps the chosen id; without this script that field
// stays a plain input for the customer number. data-submit sends the field's form on a
// choice (filters); data-reload reloads the page with ?<name>=<id> (forms that show the
// customer's orders).
(function () {
  "use strict";

  function setup(field, n) {
    var box = document.createElement("input");
    var list = document.createElement("ul");
    var items = [];
    var active = -1;
    var timer = null;
    box.type = "search";
    box.autocomplete = "off";
    box.className = "picker-box";
    box.placeholder = "Name, e-mail or phone";
    box.value = field.dataset.customerName || field.value || "";
    box.required = field.required;
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-label", field.dataset.label || "Customer");
    list.id = "customer-picker-" + n;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.setAttribute("aria-controls", list.id);
    field.type = "hidden";
    field.required = false;
    field.after(box);
    box.after(list);

    function close() {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
    }

    function mark(i) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (o, k) { o.setAttribute("aria-selected", k === i ? "true" : "false"); });
      active = i;
      if (options[i]) { box.setAttribute("aria-activedescendant", options[i].id); }
    }

    function choose(i) {
      var c = items[i];
      field.value = String(c.id);
      box.value = c.name;
      close();
      if (field.dataset.reload !== undefined) {
        var url = new URL(window.location.href);
        url.searchParams.set(field.name, c.id);
        window.location.assign(url.toString());
      } else if (field.dataset.submit !== undefined && field.form) {
        field.form.requestSubmit();
      }
    }

    function show() {
      list.replaceChildren();
      items.forEach(function (c, i) {
        var li = document.createElement("li");
        var small = document.createElement("small");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = c.name + " ";
        small.textContent = c.detail;
        li.append(small);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.append(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No customer found";
        list.append(none);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function search() {
      var q = box.value.trim();
      if (q.length < 2) { close(); return; }
      fetch("/customers/pick?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (resp) {
        return resp.ok ? resp.json() : [];
      }).then(function (found) {
        if (box.value.trim() !== q) { return; }  // typed on meanwhile: a newer answer follows
        items = found;
        show();
      }).catch(close);
    }

    box.addEventListener("input", function () {
      var typed = box.value.trim();
      field.value = /^\d+$/.test(typed) ? typed : "";  // a customer number still works
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    box.addEventListener("keydown", function (e) {
      if (list.hidden || !items.length) { return; }
      if (e.key === "ArrowDown") { e.preventDefault(); mark(Math.min(active + 1, items.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { close(); }
    });
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("input[data-customer-picker]").forEach(setup);
})();
