"""The Web API methods the fake answers (chat.*, pins.*, conversations.*, files.*,
views.publish, auth.test) and the upload URL: a mixin of `FakeSlack` that reads and
changes its state under its lock, apart so that each module reads on its own."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from bot.testing.slack_wire import Call


class WebApiMethods:
    """What each Web API method does to the fake's state (set up by
    `FakeSlack._reset_state`); `METHODS` maps a method's name to its handler."""

    _lock: Any
    _messages: dict[tuple[str, str], dict[str, Any]]
    _ephemerals: list[dict[str, Any]]
    _pins: dict[str, list[str]]
    _views: dict[str, dict[str, Any]]
    _not_member: set[str]
    _archived: set[str]
    _files: dict[str, dict[str, Any]]
    _file_counter: itertools.count
    oauth: Any
    socket_mode_url: str | None
    team: str
    team_id: str
    bot_user_id: str
    bot_user_name: str
    bot_id: str
    app_id: str
    channel_names: dict[str, str]
    root_url: str

    def _handle_upload(self, file_id: str, raw: bytes):
        """The upload URL that files.getUploadURLExternal hands out: it takes the bytes."""
        arrived = time.time()
        failure = self._take_failure("upload", None)
        if failure is not None and failure.delay > 0:
            time.sleep(failure.delay)
        with self._lock:
            if failure is not None and failure.fails and not failure.applied:
                status, payload, extra, kind = self._render_failure(failure)
            elif file_id not in self._files:
                status, payload, extra, kind = 404, {"ok": False}, [], "empty"
            else:
                self._files[file_id]["content"] = raw
                status, payload, extra, kind = 200, {"ok": True}, [], "empty"
                if failure is not None and failure.fails:  # applied, then failed
                    status, payload, extra, kind = self._render_failure(failure)
            params = {"file_id": file_id, "size": len(raw)}
            self._record(Call("upload", params, {}, arrived, payload, status, None))
        return status, payload, extra, kind

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files shared by files.completeUploadExternal (with their bytes), oldest first."""
        with self._lock:
            shared = [dict(f) for f in self._files.values() if f.get("shared_ts")]
        return [f for f in shared if channel is None or f["channel"] == channel]

    # ---------------------------------------------------------------- Web API methods
    def _m_apps_connections_open(self, token: str) -> dict:
        """Socket Mode: needs an app-level token; answers with ``socket_mode_url``."""
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if not self.socket_mode_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}

    def _m_auth_test(self, p: dict) -> dict:
        return self._auth_test_of(None)

    def _auth_test_of(self, token: str | None) -> dict:
        """auth.test: as the workspace a token was issued for (OAuth), else the fake's."""
        owner = self.oauth.owner(token)
        if owner is not None:
            return self.oauth.auth_test(owner)
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": self.team,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _bot_message(self, p: dict, ts: str) -> dict:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": p.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:
                msg[key] = p[key]
        if p.get("thread_ts"):
            msg["thread_ts"] = str(p["thread_ts"])
            parent = self._messages.get((p["channel"], msg["thread_ts"]))
            if parent is not None:
                msg["parent_user_id"] = parent.get("user")
        return msg

    @staticmethod
    def _has_content(p: dict) -> bool:
        return any(p.get(k) not in (None, "", []) for k in ("text", "blocks", "attachments"))

    def _m_chat_post_message(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        if channel in self._archived:
            return {"ok": False, "error": "is_archived"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        msg = self._bot_message(p, ts)
        self._messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _visible(self, msg: dict, p: dict) -> dict:
        """A message as conversations.* return it: metadata only when asked for."""
        shown = json.loads(json.dumps(msg))
        if str(p.get("include_all_metadata", "")).lower() not in ("1", "true"):
            shown.pop("metadata", None)
        return shown

    def _m_files_get_upload_url_external(self, p: dict) -> dict:
        try:
            length = int(p.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not p.get("filename") or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_counter):08d}"
        self._files[file_id] = {
            "id": file_id,
            "name": str(p["filename"]),
            "length": length,
            "alt_txt": p.get("alt_txt"),
        }
        return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}

    def _m_files_complete_upload_external(self, p: dict) -> dict:
        files = p.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        channel = p.get("channel_id")
        if not isinstance(files, list) or not files or not channel:
            return {"ok": False, "error": "invalid_arguments"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        done = []
        for item in files:
            found = self._files.get(str(item.get("id")))
            if found is None or "content" not in found or found.get("shared_ts"):
                return {"ok": False, "error": "file_not_found"}
            found["title"] = item.get("title") or found["name"]
            done.append(found)
        ts = self._next_ts()
        message = self._bot_message(
            {"channel": channel, "thread_ts": p.get("thread_ts"), "text": p.get("initial_comment")},
            ts,
        )
        message["files"] = [
            {k: f.get(k) for k in ("id", "name", "title", "alt_txt")} | {"mimetype": "image/png"}
            for f in done
        ]
        self._messages[(channel, ts)] = message
        for found in done:
            found.update(shared_ts=ts, channel=channel, thread_ts=p.get("thread_ts"))
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in done]}

    def _m_conversations_replies(self, p: dict) -> dict:
        """A thread, parent first then replies oldest first (no pagination)."""
        channel, ts = p.get("channel"), str(p.get("ts") or "")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        parent = self._messages.get((channel, ts))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = sorted(
            (
                m
                for (ch, _), m in self._messages.items()
                if ch == channel and m.get("thread_ts") == ts and m["ts"] != ts
            ),
            key=lambda m: float(m["ts"]),
        )
        limit = int(p.get("limit") or 1000)
        found = [parent, *replies][:limit]
        return {"ok": True, "messages": [self._visible(m, p) for m in found], "has_more": False}

    def _m_conversations_history(self, p: dict) -> dict:
        """A channel's top-level messages, newest first, from ``oldest`` on."""
        channel = p.get("channel")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(p.get("oldest") or 0)
        found = sorted(
            (
                m
                for (ch, ts), m in self._messages.items()
                if ch == channel and not m.get("thread_ts") and float(ts) >= oldest
            ),
            key=lambda m: -float(m["ts"]),
        )[: int(p.get("limit") or 100)]
        return {"ok": True, "messages": [self._visible(m, p) for m in found], "has_more": False}

    def _m_chat_update(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        msg = self._messages.get((channel, str(ts))) if ts else None
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        if p.get("text") is not None:
            msg["text"] = p["text"]
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:  # Slack keeps previous blocks unless given
                msg[key] = p[key]
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": msg["ts"],
            "text": msg["text"],
            "message": msg,
        }

    def _m_chat_post_ephemeral(self, p: dict) -> dict:
        channel, user = p.get("channel"), p.get("user")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        msg = {**self._bot_message(p, ts), "channel": channel, "to_user": user}
        self._ephemerals.append(msg)
        return {"ok": True, "message_ts": ts}

    def _m_pins_add(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("timestamp")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "no_item_specified"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        if (channel, str(ts)) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        pinned = self._pins.setdefault(channel, [])
        if str(ts) in pinned:
            return {"ok": False, "error": "already_pinned"}
        pinned.append(str(ts))
        return {"ok": True}

    def _m_pins_remove(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("timestamp")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        pinned = self._pins.get(channel, [])
        if not ts or str(ts) not in pinned:
            return {"ok": False, "error": "no_pin"}
        pinned.remove(str(ts))
        return {"ok": True}

    def _m_pins_list(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        items = [
            {
                "type": "message",
                "channel": channel,
                "created_by": self.bot_user_id,
                "message": self._messages[(channel, ts)],
            }
            for ts in self._pins.get(channel, [])
        ]
        return {"ok": True, "items": items}

    def _m_conversations_info(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self.channel_names.get(channel, channel.lower()),
                "is_channel": channel.startswith("C"),
                "is_group": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": channel not in self._not_member,
            },
        }

    def _m_conversations_open(self, p: dict) -> dict:
        users = p.get("users")
        if not isinstance(users, str) or not users or "," in users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users}}

    def _m_chat_get_permalink(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("message_ts")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        if not ts or (channel, str(ts)) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": self.permalink(channel, str(ts))}

    def _m_views_publish(self, p: dict) -> dict:
        """A Home view for ``user_id``; ``view`` may come as a JSON string (a form)."""
        user, view = p.get("user_id"), p.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        self._views[str(user)] = view
        return {"ok": True, "view": {"id": f"V{user}", "type": "home", **view}}

    def _m_conversations_join(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        self._not_member.discard(channel)
        return {"ok": True, "channel": self._m_conversations_info(p)["channel"]}


METHODS: dict[str, Callable[[Any, dict], dict]] = {
    "auth.test": WebApiMethods._m_auth_test,
    "files.getUploadURLExternal": WebApiMethods._m_files_get_upload_url_external,
    "files.completeUploadExternal": WebApiMethods._m_files_complete_upload_external,
    "chat.postMessage": WebApiMethods._m_chat_post_message,
    "chat.update": WebApiMethods._m_chat_update,
    "chat.postEphemeral": WebApiMethods._m_chat_post_ephemeral,
    "pins.add": WebApiMethods._m_pins_add,
    "pins.remove": WebApiMethods._m_pins_remove,
    "pins.list": WebApiMethods._m_pins_list,
    "conversations.info": WebApiMethods._m_conversations_info,
    "conversations.replies": WebApiMethods._m_conversations_replies,
    "conversations.history": WebApiMethods._m_conversations_history,
    "conversations.join": WebApiMethods._m_conversations_join,
    "conversations.open": WebApiMethods._m_conversations_open,
    "chat.getPermalink": WebApiMethods._m_chat_get_permalink,
    "views.publish": WebApiMethods._m_views_publish,
}
