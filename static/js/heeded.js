// Small progressive enhancements of the staff UI. Every page works without them.
(function () {
  "use strict";

  // A form marked data-conditional-fields shows a field wrapper with
  // data-show-for="decision:deferred decision:rejected" only while one of those
  // name:value pairs is chosen. Nothing is hidden until a choice is made, and a
  // field that carries an error is never hidden.
  function currentValue(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    if (checked) return checked.value;
    var field = form.elements.namedItem(name);
    return field && field.tagName === "SELECT" ? field.value : "";
  }

  function updateConditional(form) {
    form.querySelectorAll("[data-show-for]").forEach(function (wrapper) {
      var wanted = wrapper.getAttribute("data-show-for").split(/\s+/);
      var byName = {};
      wanted.forEach(function (pair) {
        var parts = pair.split(":");
        (byName[parts[0]] = byName[parts[0]] || []).push(parts[1]);
      });
      var show = Object.keys(byName).some(function (name) {
        var value = currentValue(form, name);
        return value === "" || byName[name].indexOf(value) !== -1;
      });
      wrapper.hidden = !show && !wrapper.classList.contains("has-error");
    });
  }

  // On the new-recommendation form, offer only the contacts of the chosen client.
  function updateContacts(form) {
    var client = form.elements.namedItem("client");
    var contact = form.elements.namedItem("contact");
    if (!client || !contact) return;
    var name = client.options[client.selectedIndex] ? client.options[client.selectedIndex].text : "";
    contact.querySelectorAll("optgroup").forEach(function (group) {
      var match = !client.value || group.label === name;
      group.hidden = !match;
      group.disabled = !match;
      if (!match && group.contains(contact.options[contact.selectedIndex])) contact.value = "";
    });
  }

  function init(root) {
    root.querySelectorAll("form[data-conditional-fields]").forEach(function (form) {
      updateConditional(form);
      form.addEventListener("change", function () { updateConditional(form); });
    });
    var create = root.querySelector("#recommendation-form");
    if (create) {
      updateContacts(create);
      create.addEventListener("change", function (event) {
        if (event.target.name === "client") updateContacts(create);
      });
    }
  }

  // The top bar's menus (<details class="nav-menu">) open and close without script;
  // this only closes an open one on Escape (focus back on its summary) and on a click
  // or focus elsewhere, as a menu is expected to.
  function closeMenus(except) {
    document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.nav-menu") : null);
  });
  document.addEventListener("focusin", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.nav-menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("details.nav-menu[open]")
      : null;
    closeMenus(null);
    if (menu) menu.querySelector("summary").focus();
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content htmx swapped in (an action recorded in place, a filtered list) gets the
  // same enhancements; htmx fires htmx:load on each new element.
  document.addEventListener("htmx:load", function (event) {
    if (event.target !== document.body) init(event.target);
  });
})();
