// The words for the service's states, written from handler/internal/words
// (go test ./handler/internal/words -run TestScript -update). Do not edit.
export const campaignStates = {
  "cancelled": {
    "name": "Cancelled",
    "meaning": "You cancelled it; nothing more is sent."
  },
  "completed": {
    "name": "Completed",
    "meaning": "Every message that could be sent was sent."
  },
  "draft": {
    "name": "Draft",
    "meaning": "Add your recipients: upload a spreadsheet."
  },
  "failed": {
    "name": "Failed",
    "meaning": "It stopped before it could finish."
  },
  "paused": {
    "name": "Paused",
    "meaning": "Nothing more is sent until you resume it."
  },
  "queued": {
    "name": "Starting",
    "meaning": "Your email arrived; the mail merge is starting."
  },
  "ready": {
    "name": "Ready",
    "meaning": "Your recipients are in. Send your email to the campaign's address to start it."
  },
  "review": {
    "name": "Waiting for you",
    "meaning": "Your email arrived and is held: nothing is sent until you start the mail merge."
  },
  "scheduled": {
    "name": "Scheduled",
    "meaning": "It starts by itself at the time you chose."
  },
  "sending": {
    "name": "Sending",
    "meaning": "Messages are leaving your mailbox at a steady pace."
  }
};
export const rowStates = {
  "failed": {
    "name": "Failed",
    "meaning": "It could not be sent."
  },
  "pending": {
    "name": "To send",
    "meaning": "It will be sent."
  },
  "sending": {
    "name": "Sending",
    "meaning": "It is being sent now."
  },
  "sent": {
    "name": "Sent",
    "meaning": "It was sent."
  },
  "skipped": {
    "name": "Skipped",
    "meaning": "It is not sent: see why beside it."
  },
  "unknown": {
    "name": "Not confirmed",
    "meaning": "Microsoft did not confirm whether it was sent, so it is not sent again by itself. Look in your Sent Items."
  }
};
export const dataStates = {
  "failed": {
    "name": "Not read",
    "meaning": "Your spreadsheet could not be read. Try again, or upload it again."
  },
  "invalid": {
    "name": "Needs a fix",
    "meaning": "Your spreadsheet could not be used as it is: see what to fix."
  },
  "none": {
    "name": "No spreadsheet yet",
    "meaning": "Upload a spreadsheet with one row a recipient."
  },
  "processing": {
    "name": "Reading",
    "meaning": "We are reading your spreadsheet."
  },
  "ready": {
    "name": "Read",
    "meaning": "Your spreadsheet was read."
  }
};
