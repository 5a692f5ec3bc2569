"""The embedded default's e-mail: each message saved as a file under var/mail/, one log line each.

Django's console backend printed every message whole to stdout, which a Celery worker
turns into WARNING lines: an alert read like a fault. Here the message is kept whole
on disk, and the log says who got what and where it is.
"""
import logging

from django.core.mail.backends.filebased import EmailBackend as FileBackend

logger = logging.getLogger("pmhub.mail")


class SavedMailBackend(FileBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        for message in email_messages or ():
            logger.info("e-mail to %s: %s (saved in %s)", ", ".join(message.recipients()),
                        message.subject, self.file_path)
        return sent
