//! A line of text the UI asks for (a resolution note, an escalation
//! reason, an agent's name, a campaign outcome's note): what was typed and
//! where the cursor is, what it is for, and the text of one not saved, kept
//! for the items it was typed for.

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub label: String,
    pub text: String,
    /// Where typing goes in `text`, in characters (its end unless moved
    /// with Left, Right, Home, End).
    pub cursor: usize,
    pub purpose: PromptPurpose,
    /// Completion candidates (Tab cycles).
    pub choices: Vec<String>,
    /// What was typed before Tab was first pressed: Tab cycles through the
    /// candidates that start with it.
    pub stem: Option<String>,
    /// The queue items the prompt is for, at the versions shown when it
    /// opened: the change is made to the items as the agent saw them, so
    /// another agent's change while the note is typed refuses it (the
    /// list's reload would otherwise have moved the versions on).
    pub seen: Vec<crate::store::workflow::Target>,
}

impl Prompt {
    /// Where typing goes in `text`, in bytes.
    pub fn cursor_byte(&self) -> usize {
        self.text
            .char_indices()
            .nth(self.cursor)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// The text before and after the cursor.
    pub fn split(&self) -> (&str, &str) {
        self.text.split_at(self.cursor_byte())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PromptPurpose {
    Resolve,
    Escalate,
    Assign,
    Note,
    /// A note to an outcome on a campaign's customer (may be empty).
    CampaignNote(Box<crate::store::campaigns::WorkRow>, &'static str),
}

impl PromptPurpose {
    /// For a prompt whose text is kept when it is not saved (`Draft`): the
    /// act it makes (its name) and the action that opens it again.
    pub fn kept_as(&self) -> Option<(&'static str, super::action::Action)> {
        use super::action::Action;
        match self {
            PromptPurpose::Resolve => Some(("resolve", Action::Resolve)),
            PromptPurpose::Escalate => Some(("escalate", Action::Escalate)),
            PromptPurpose::Note => Some(("note", Action::AddNote)),
            PromptPurpose::Assign | PromptPurpose::CampaignNote(..) => None,
        }
    }
}

/// Text typed into a queue prompt, kept for the items it was typed for.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub purpose: PromptPurpose,
    pub fids: Vec<i64>,
    pub text: String,
}
