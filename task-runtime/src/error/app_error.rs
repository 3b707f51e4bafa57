use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use super::codes;

/// How serious an [`AppError`] is. The default is [`Severity::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Diagnostic detail, not shown to users.
    Debug,
    /// Worth knowing, nothing failed.
    Info,
    /// Something went wrong but the operation could continue.
    Warning,
    /// The operation failed.
    #[default]
    Error,
    /// The application is in trouble (a task panicked, state may be lost).
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        })
    }
}

/// What area an [`AppError`] comes from. The default is [`Category::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Category {
    /// A file or directory is missing.
    FileNotFound,
    /// Input could not be parsed.
    Parse,
    /// A database operation failed.
    Database,
    /// A network operation failed.
    Network,
    /// A remote API answered with an error.
    Api,
    /// A computation failed.
    Calculation,
    /// Rendering failed.
    Render,
    /// Input did not pass validation.
    Validation,
    /// Memory could not be allocated or a limit was hit.
    Memory,
    /// The operation was not permitted.
    Permission,
    /// Configuration is missing or invalid.
    Configuration,
    /// Anything else.
    #[default]
    Unknown,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::FileNotFound => "file not found",
            Category::Parse => "parse",
            Category::Database => "database",
            Category::Network => "network",
            Category::Api => "api",
            Category::Calculation => "calculation",
            Category::Render => "render",
            Category::Validation => "validation",
            Category::Memory => "memory",
            Category::Permission => "permission",
            Category::Configuration => "configuration",
            Category::Unknown => "unknown",
        })
    }
}

/// A structured application error: a code, a message for developers, an optional message for
/// users, severity, category, context and the error it came from.
///
/// This is the error type of task bodies (any `E: Into<AppError>` works) and of
/// [`TaskError::Failed`](crate::TaskError::Failed). It is cheap to clone (the fields are
/// shared) and `Send + Sync`, so it can go to callbacks, signals and logs alike.
///
/// Like `anyhow::Error`, `AppError` does **not** implement [`std::error::Error`] itself. That
/// is what allows the blanket `From<E: std::error::Error + Send + Sync + 'static>`, so `?`
/// converts any standard error inside a task body. A converted error gets the code
/// [`ERR_SYS_UNKNOWN`](codes::ERR_SYS_UNKNOWN), the message `Background task failed: {e}`, the
/// error chain in [`details`](AppError::details) and the original as
/// [`source`](AppError::source).
///
/// # Examples
///
/// ```
/// use task_runtime::{AppError, Category, Severity};
///
/// let err = AppError::new("ERR_IMPORT_CSV", "row 17 has 3 columns, expected 4")
///     .with_user_message("The file could not be imported.")
///     .with_category(Category::Parse)
///     .with_severity(Severity::Warning)
///     .with_context("file", "orders.csv");
///
/// assert_eq!(err.user_message(), "The file could not be imported.");
/// assert_eq!(
///     err.to_string(),
///     r#"[ERR_IMPORT_CSV] row 17 has 3 columns, expected 4 | Context: {"file": "orders.csv"}"#
/// );
/// ```
///
/// `?` on a standard error:
///
/// ```
/// use task_runtime::{codes, AppError};
///
/// fn parse(text: &str) -> Result<u32, AppError> {
///     Ok(text.trim().parse::<u32>()?)
/// }
///
/// let err = parse("x").unwrap_err();
/// assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
/// assert_eq!(err.message(), "Background task failed: invalid digit found in string");
/// assert!(err.source().is_some());
/// ```
#[derive(Clone)]
pub struct AppError {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    code: String,
    message: String,
    details: Option<String>,
    user_message: Option<String>,
    severity: Severity,
    category: Category,
    recoverable: bool,
    context: BTreeMap<String, String>,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl AppError {
    /// Creates an error with a code (see [`codes`](crate::codes)) and a developer-facing
    /// message. Severity is `Error`, category `Unknown`, and it is recoverable.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        AppError {
            inner: Arc::new(Inner {
                code: code.into(),
                message: message.into(),
                details: None,
                user_message: None,
                severity: Severity::default(),
                category: Category::default(),
                recoverable: true,
                context: BTreeMap::new(),
                source: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Adds technical details (a stack of causes, the offending input...).
    #[must_use]
    pub fn with_details(self, details: impl Into<String>) -> Self {
        let details = details.into();
        self.edit(|inner| inner.details = Some(details))
    }

    /// Sets the message meant for users; [`user_message`](Self::user_message) falls back to
    /// the developer message when it is not set.
    #[must_use]
    pub fn with_user_message(self, message: impl Into<String>) -> Self {
        let message = message.into();
        self.edit(|inner| inner.user_message = Some(message))
    }

    /// Sets the severity.
    #[must_use]
    pub fn with_severity(self, severity: Severity) -> Self {
        self.edit(|inner| inner.severity = severity)
    }

    /// Sets the category.
    #[must_use]
    pub fn with_category(self, category: Category) -> Self {
        self.edit(|inner| inner.category = category)
    }

    /// Says whether the application can carry on after this error (default `true`).
    #[must_use]
    pub fn recoverable(self, recoverable: bool) -> Self {
        self.edit(|inner| inner.recoverable = recoverable)
    }

    /// Adds a `key = value` pair of context; a repeated key replaces the earlier value.
    /// The runtime adds `task = <task name>` to every error a task ends with.
    #[must_use]
    pub fn with_context(self, key: impl Into<String>, value: impl ToString) -> Self {
        let (key, value) = (key.into(), value.to_string());
        self.edit(|inner| {
            inner.context.insert(key, value);
        })
    }

    /// Records the error this one was caused by.
    #[must_use]
    pub fn with_source(self, source: impl StdError + Send + Sync + 'static) -> Self {
        let source: Arc<dyn StdError + Send + Sync> = Arc::new(source);
        self.edit(|inner| inner.source = Some(source))
    }

    /// The error code, such as `ERR_TASK_PANICKED`.
    pub fn code(&self) -> &str {
        &self.inner.code
    }

    /// The developer-facing message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Technical details, if any.
    pub fn details(&self) -> Option<&str> {
        self.inner.details.as_deref()
    }

    /// The message to show users: the one set with
    /// [`with_user_message`](Self::with_user_message), else the developer message.
    pub fn user_message(&self) -> &str {
        self.inner
            .user_message
            .as_deref()
            .unwrap_or(&self.inner.message)
    }

    /// The severity.
    pub fn severity(&self) -> Severity {
        self.inner.severity
    }

    /// The category.
    pub fn category(&self) -> Category {
        self.inner.category
    }

    /// Whether the application can carry on after this error.
    pub fn is_recoverable(&self) -> bool {
        self.inner.recoverable
    }

    /// The context pairs, sorted by key.
    pub fn context(&self) -> &BTreeMap<String, String> {
        &self.inner.context
    }

    /// The error this one was caused by, if any.
    pub fn source(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// Whether this error stands for a cancellation (code
    /// [`ERR_TASK_CANCELLED`](codes::ERR_TASK_CANCELLED)).
    pub fn is_cancellation(&self) -> bool {
        self.inner.code == codes::ERR_TASK_CANCELLED
    }

    /// The error a panicking task body ends with.
    pub(crate) fn panicked(task: &str, message: &str) -> Self {
        AppError::new(
            codes::ERR_TASK_PANICKED,
            format!("task '{task}' panicked: {message}"),
        )
        .with_severity(Severity::Critical)
        .recoverable(false)
        .with_details(message.to_owned())
    }
}

impl<E> From<E> for AppError
where
    E: StdError + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut chain = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            chain.push_str("\ncaused by: ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        AppError::new(
            codes::ERR_SYS_UNKNOWN,
            format!("Background task failed: {error}"),
        )
        .with_details(chain)
        .with_source(error)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        write!(f, "[{}] {}", inner.code, inner.message)?;
        if let Some(details) = &inner.details {
            write!(f, " | Details: {details}")?;
        }
        if !inner.context.is_empty() {
            write!(f, " | Context: {:?}", inner.context)?;
        }
        if let Some(source) = &inner.source {
            write!(f, " | Caused by: {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut s = f.debug_struct("AppError");
        s.field("code", &inner.code)
            .field("message", &inner.message);
        if let Some(details) = &inner.details {
            s.field("details", details);
        }
        if let Some(user_message) = &inner.user_message {
            s.field("user_message", user_message);
        }
        s.field("severity", &inner.severity)
            .field("category", &inner.category)
            .field("recoverable", &inner.recoverable);
        if !inner.context.is_empty() {
            s.field("context", &inner.context);
        }
        if let Some(source) = &inner.source {
            s.field("source", source);
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn display_shows_only_the_parts_that_are_set() {
        let plain = AppError::new("ERR_X", "boom");
        assert_eq!(plain.to_string(), "[ERR_X] boom");

        let full = AppError::new("ERR_X", "boom")
            .with_details("line 3")
            .with_context("b", 2)
            .with_context("a", "one")
            .with_source(std::io::Error::other("disk"));
        assert_eq!(
            full.to_string(),
            r#"[ERR_X] boom | Details: line 3 | Context: {"a": "one", "b": "2"} | Caused by: disk"#
        );
    }

    #[test]
    fn defaults_and_accessors() {
        let err = AppError::new("ERR_X", "boom");
        assert_eq!(err.severity(), Severity::Error);
        assert_eq!(err.category(), Category::Unknown);
        assert!(err.is_recoverable());
        assert_eq!(err.user_message(), "boom");
        assert!(err.details().is_none() && err.source().is_none());
        let err = err.with_user_message("Try again").recoverable(false);
        assert_eq!(err.user_message(), "Try again");
        assert!(!err.is_recoverable());
    }

    #[test]
    fn converted_errors_carry_their_chain() {
        let err: AppError = Outer(std::io::Error::other("disk on fire")).into();
        assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
        assert_eq!(err.message(), "Background task failed: outer failed");
        assert_eq!(err.details(), Some("outer failed\ncaused by: disk on fire"));
        assert_eq!(err.source().unwrap().to_string(), "outer failed");
    }

    #[test]
    fn clones_share_until_edited() {
        let a = AppError::new("ERR_X", "boom");
        let b = a.clone().with_context("k", "v");
        assert!(a.context().is_empty());
        assert_eq!(b.context()["k"], "v");
    }

    #[test]
    fn is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<AppError>();
    }
}
