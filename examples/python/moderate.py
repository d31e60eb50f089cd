"""A news site's "Leave a Reply" handler in Python: before publishing a
reader's comment, ask moderato, then publish, hold or refuse it.

Run, in a virtual environment (Debian and Ubuntu refuse a plain pip install):
python3 -m venv .venv && . .venv/bin/activate &&
pip install -r requirements.txt && sh generate.sh &&
MODERATO_TOKEN=$(cat ../../data/admin.token) python3 moderate.py
"""
import os
import sys
import time

import grpc

from moderation.v1 import messages_pb2, service_pb2_grpc

# The site acts on the comment's status, which follows the verdict for a
# new comment and a moderator's label once one was given.
ACTIONS = {
    messages_pb2.REVIEW_STATUS_APPROVED: "publish",
    messages_pb2.REVIEW_STATUS_PENDING: "hold for a moderator",
    messages_pb2.REVIEW_STATUS_REJECTED: "refuse",
}


def check_once(stub, form, request):
    """Asks moderato about one submitted comment form."""
    message = messages_pb2.CheckCommentRequest(
        site_id="news.example",
        comment_id=form["comment_id"],
        content=form["comment"],
        author=messages_pb2.Author(
            name=form["name"], email=form["email"], url=form["website"],
            ip=request["ip"], user_agent=request["user_agent"],
        ),
        context=messages_pb2.PostContext(
            permalink=request["permalink"], post_title=request["post_title"],
        ),
        form=messages_pb2.FormSignals(
            honeypot=form["honeypot"], seconds_on_page=form["seconds_on_page"],
        ),
    )
    metadata = [("authorization", "Bearer " + os.environ["MODERATO_TOKEN"])]
    return stub.CheckComment(message, metadata=metadata, timeout=2.0)


# A busy service sheds a call (RESOURCE_EXHAUSTED) and a restarting one is
# briefly UNAVAILABLE: such a call is sent again after a short, growing
# pause, which is safe since the comment id makes it idempotent.
RETRIED = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


def moderate(stub, form, request):
    """Says what to do with a comment, and moderato's answer if it gave one.

    If moderato still cannot answer after the retries, the comment is held
    for a moderator rather than published unchecked or lost. A comment
    whose text moderato refuses (INVALID_ARGUMENT naming `content`: empty,
    too long) goes back to the reader with the service's message; any other
    error (no answer in time, DEADLINE_EXCEEDED; a wrong key,
    UNAUTHENTICATED or PERMISSION_DENIED; another field the site filled
    wrongly) is logged for the site's operator while the comment waits.
    """
    for attempt in range(4):
        try:
            answer = check_once(stub, form, request)
        except grpc.RpcError as error:
            if error.code() in RETRIED and attempt < 3:
                time.sleep(0.1 * 2 ** attempt)
                continue
            details = error.details() or ""
            refused_text = details.startswith("content ")
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT and refused_text:
                return "ask the reader to change it: " + details, None
            print(f"moderato could not check {form['comment_id']}: "
                  f"{error.code().name}: {details}", file=sys.stderr)
            return "hold for a moderator (moderato could not check it)", None
        return ACTIONS[answer.status], answer


def main():
    address = os.environ.get("MODERATO_ADDRESS", "127.0.0.1:50051")
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.ModerationStub(channel)
        request = {
            "ip": "203.0.113.7", "user_agent": "Mozilla/5.0",
            "permalink": "https://news.example/bus-routes",
            "post_title": "Council approves the new bus routes",
        }
        submissions = [
            {"comment_id": "python-1", "comment": "I disagree with the mayor, the old routes were better for the elderly.",
             "name": "Ben", "email": "ben@mail.example", "website": "", "honeypot": "", "seconds_on_page": 120.0},
            {"comment_id": "python-2", "comment": "cheap watches here", "name": "bot", "email": "bot@spam.example",
             "website": "", "honeypot": "http://spam.example", "seconds_on_page": 1.0},
            # A form sent with nothing written: moderato refuses it, naming
            # the field.
            {"comment_id": "python-3", "comment": "   ", "name": "Ben", "email": "ben@mail.example",
             "website": "", "honeypot": "", "seconds_on_page": 4.0},
        ]
        for form in submissions:
            action, answer = moderate(stub, form, request)
            if answer is None:
                print(f"{form['comment_id']}: {action}")
                continue
            print(f"{form['comment_id']}: {messages_pb2.Verdict.Name(answer.verdict)} "
                  f"(score {answer.score:.3f}) -> {action}")
            for reason in answer.reasons[:3]:
                print(f"  {reason.message}")


if __name__ == "__main__":
    main()
