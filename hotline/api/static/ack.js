/* The one-tap acknowledgement page: submit its form at once (link previews do not run scripts). */
document.forms[0].submit();
