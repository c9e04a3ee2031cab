"""Saving and opening a thread's attachments (w, o): part of ThreadScreen, kept apart so the
thread stays about reading and triage. The files are the desk's blobs; the names shown and
proposed are the sanitised ones the engine gives (deskterm.desk.attachments)."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll

from deskterm.desk import attachments
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.message_view import MessageView, human_size


class ThreadAttachments:
    """The thread's attachment keys (mixed into ThreadScreen)."""

    def _visible_files(self) -> list[attachments.StoredAttachment]:
        """The attachments of the messages on screen, or of the whole thread if none are."""
        box = self.query_one("#messages", VerticalScroll)
        shown = {
            index
            for index, view in enumerate(self.query(MessageView))
            if view.region and box.content_region.overlaps(view.region)
        }
        visible = [f for f in self.files if f.message_index in shown]
        return visible or self.files

    def _pick_file(self, then: Callable[[attachments.StoredAttachment], None]) -> None:
        files = self._visible_files()
        if not files:
            self.notify("This conversation has no attachments.", markup=False)
            return
        if len(files) == 1:
            then(files[0])
            return

        def answered(answer: str | None) -> None:
            if answer is None:
                return
            text = answer.strip()
            if not text.isdigit() or not 1 <= int(text) <= len(files):
                self.notify(
                    f"Type a number from 1 to {len(files)}.", severity="warning", markup=False
                )
                return
            then(files[int(text) - 1])

        listing = "\n".join(
            f"{number} {one_line(f.filename)} ({human_size(f.size)})"
            for number, f in enumerate(files, start=1)
        )
        self.app.push_screen(
            PromptScreen("Which attachment? (number)", "", f"{listing}\nEsc cancels."),
            answered,
        )

    def action_save_attachment(self) -> None:
        self._pick_file(self._ask_where)

    def _ask_where(self, file: attachments.StoredAttachment) -> None:
        def answered(answer: str | None) -> None:
            if answer is not None:
                self._save(file, answer, overwrite=False)

        name = attachments.safe_filename(file.filename)
        self.app.push_screen(
            PromptScreen(
                f"Save {name} to:",
                str(attachments.default_save_path(file.filename)),
                "A file path (~ is your home). Esc cancels.",
            ),
            answered,
        )

    def _save(self, file: attachments.StoredAttachment, target: str, overwrite: bool) -> None:
        def confirmed(answer: str | None) -> None:
            if answer is not None and answer.strip().lower() in ("y", "yes"):
                self._save(file, target, overwrite=True)

        with self.desk.reporting("save the attachment"):
            try:
                path = attachments.save(file.sha256, target, overwrite=overwrite)
            except attachments.FileExists:
                self.app.push_screen(
                    PromptScreen(
                        f"{one_line(target)} exists already. Replace it? (y/n)",
                        "",
                        "y replaces the file; anything else keeps it.",
                    ),
                    confirmed,
                )
                return
            name = attachments.safe_filename(file.filename)
            self.notify(f"Saved {name} to {one_line(str(path))}.", markup=False)

    def action_open_attachment(self) -> None:
        def open_it(file: attachments.StoredAttachment) -> None:
            with self.desk.reporting("open the attachment"):
                path = attachments.open_with_system(file.sha256, file.filename)
                self.notify(f"Opened {path.name} with the system opener.", markup=False)

        self._pick_file(open_it)
