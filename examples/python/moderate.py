"""A news site's "Leave a Reply" handler in Python: before publishing a
reader's comment, ask moderato, then publish, hold or refuse it.

Run, in a virtual environment (Debian and Ubuntu refuse a plain pip install):
python3 -m venv .venv && . .venv/bin/activate &&
pip install -r requirements.txt && sh generate.sh &&
MODERATO_TOKEN=$(cat ../../data/admin.token) python3 moderate.py
"""
import os

import grpc

from moderation.v1 import messages_pb2, service_pb2_grpc

# The site acts on the comment's status, which follows the verdict for a
# new comment and a moderator's label once one was given.
ACTIONS = {
    messages_pb2.REVIEW_STATUS_APPROVED: "publish",
    messages_pb2.REVIEW_STATUS_PENDING: "hold for a moderator",
    messages_pb2.REVIEW_STATUS_REJECTED: "refuse",
}


def moderate(stub, form, request):
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
        ]
        for form in submissions:
            answer = moderate(stub, form, request)
            print(f"{form['comment_id']}: {messages_pb2.Verdict.Name(answer.verdict)} "
                  f"(score {answer.score:.3f}) -> {ACTIONS[answer.status]}")
            for reason in answer.reasons[:3]:
                print(f"  {reason.message}")


if __name__ == "__main__":
    main()
