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
/// is what allows the blanket conversion, so `?` converts inside a task body anything that
/// converts into `Box<dyn std::error::Error + Send + Sync>`: every
/// `std::error::Error + Send + Sync + 'static`, a `Box<dyn Error + Send + Sync>` itself,
/// `anyhow::Error`, and `String` / `&'static str` messages. A converted error gets the code
/// [`ERR_SYS_UNKNOWN`](codes::ERR_SYS_UNKNOWN) (an [`io::Error`](std::io::Error) of kind
/// `NotFound` gets [`ERR_FILE_NOT_FOUND`](codes::ERR_FILE_NOT_FOUND) and
/// [`Category::FileNotFound`], `PermissionDenied` gets [`ERR_PERMISSION`](codes::ERR_PERMISSION)
/// and [`Category::Permission`]), the message `Background task failed: {e}`, the error chain
/// in [`details`](AppError::details) and the original as [`source`](AppError::source), where
/// [`downcast_ref`](AppError::downcast_ref) finds it again.
///
/// An application's own error type cannot have a `From<MyError> for AppError` (it would
/// overlap with the blanket conversion); give it a code, a category and a user message in one
/// place with [`TaskManagerBuilder::map_error`](crate::TaskManagerBuilder::map_error).
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
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
///
/// // An io::Error keeps its kind:
/// fn open() -> Result<String, AppError> {
///     Ok(std::fs::read_to_string("/no/such/file")?)
/// }
/// assert_eq!(open().unwrap_err().code(), codes::ERR_FILE_NOT_FOUND);
///
/// // A boxed error and a plain message convert too:
/// fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     Err("no luck".into())
/// }
/// fn task() -> Result<(), AppError> {
///     boxed()?;
///     Err("unreachable")?
/// }
/// assert_eq!(task().unwrap_err().message(), "Background task failed: no luck");
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

    /// Whether `other` is this very error, passed on as it is (not an edited copy).
    pub(crate) fn is_same(&self, other: &AppError) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
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

    /// The original error of type `E` this one was converted from (with `?`) or given as
    /// [`with_source`](Self::with_source), if it is one.
    ///
    /// ```
    /// use task_runtime::AppError;
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("quota exceeded by {0} bytes")]
    /// struct Quota(u64);
    ///
    /// let err: AppError = Quota(512).into();
    /// assert_eq!(err.downcast_ref::<Quota>().map(|q| q.0), Some(512));
    /// assert!(err.downcast_ref::<std::io::Error>().is_none());
    /// ```
    pub fn downcast_ref<E: StdError + Send + Sync + 'static>(&self) -> Option<&E> {
        let source = self.inner.source.as_deref()?;
        #[cfg(feature = "anyhow")]
        if let Some(anyhow) = source.downcast_ref::<AnyhowSource>() {
            return anyhow.0.downcast_ref::<E>();
        }
        source.downcast_ref::<E>()
    }

    /// Whether this error stands for a cancellation (code
    /// [`ERR_TASK_CANCELLED`](codes::ERR_TASK_CANCELLED)).
    pub fn is_cancellation(&self) -> bool {
        self.inner.code == codes::ERR_TASK_CANCELLED
    }
}

/// Converts standard errors, boxed errors, `anyhow::Error` and messages (what `?` uses). A
/// blanket over `Into<Box<dyn Error + Send + Sync>>` rather than over `Error`, so that boxed
/// errors convert too (a second impl for them would overlap with the first).
impl<E> From<E> for AppError
where
    E: Into<Box<dyn StdError + Send + Sync>> + 'static,
{
    fn from(error: E) -> Self {
        // A task's error (`task.await?` in a body) is an `AppError` already: kept as it is,
        // and a cancellation stays one (`ERR_TASK_CANCELLED`).
        let error = {
            let mut error = Some(error);
            let any: &mut dyn std::any::Any = &mut error;
            if let Some(task) = any.downcast_mut::<Option<super::TaskError>>() {
                return task.take().expect("taken once").into_app_error();
            }
            error.expect("not taken")
        };
        #[cfg(feature = "anyhow")]
        let error = {
            let mut error = Some(error);
            let any: &mut dyn std::any::Any = &mut error;
            if let Some(anyhow) = any.downcast_mut::<Option<anyhow::Error>>() {
                let anyhow = anyhow.take().expect("taken once");
                return converted(Arc::new(AnyhowSource(anyhow)));
            }
            error.expect("not taken")
        };
        converted(Arc::from(error.into()))
    }
}

/// The `AppError` for a foreign error: its kind, its message and chain, and itself as source.
fn converted(source: Arc<dyn StdError + Send + Sync>) -> AppError {
    let mut chain = source.to_string();
    let mut cause = source.source();
    while let Some(c) = cause {
        chain.push_str("\ncaused by: ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    let (code, category) = match source.downcast_ref::<std::io::Error>().map(|e| e.kind()) {
        Some(std::io::ErrorKind::NotFound) => (codes::ERR_FILE_NOT_FOUND, Category::FileNotFound),
        Some(std::io::ErrorKind::PermissionDenied) => (codes::ERR_PERMISSION, Category::Permission),
        _ => (codes::ERR_SYS_UNKNOWN, Category::Unknown),
    };
    let error = AppError::new(code, format!("Background task failed: {source}"))
        .with_details(chain)
        .with_category(category);
    error.edit(|inner| inner.source = Some(source))
}

/// An `anyhow::Error` kept whole as a source, so that `downcast_ref` sees through its context
/// layers as anyhow's own does.
#[cfg(feature = "anyhow")]
struct AnyhowSource(anyhow::Error);

#[cfg(feature = "anyhow")]
impl fmt::Display for AnyhowSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(feature = "anyhow")]
impl fmt::Debug for AnyhowSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(feature = "anyhow")]
impl StdError for AnyhowSource {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
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
    fn io_errors_keep_their_kind() {
        use std::io::{Error, ErrorKind};
        let cases = [
            (
                ErrorKind::NotFound,
                codes::ERR_FILE_NOT_FOUND,
                Category::FileNotFound,
            ),
            (
                ErrorKind::PermissionDenied,
                codes::ERR_PERMISSION,
                Category::Permission,
            ),
            (
                ErrorKind::TimedOut,
                codes::ERR_SYS_UNKNOWN,
                Category::Unknown,
            ),
        ];
        for (kind, code, category) in cases {
            let err: AppError = Error::new(kind, "disk says no").into();
            assert_eq!((err.code(), err.category()), (code, category), "{kind:?}");
            assert_eq!(err.message(), "Background task failed: disk says no");
            assert_eq!(err.downcast_ref::<Error>().map(Error::kind), Some(kind));
        }
        // Wrapped in another error, the kind is the outer error's business.
        let wrapped: AppError = Outer(Error::new(ErrorKind::NotFound, "gone")).into();
        assert_eq!(wrapped.code(), codes::ERR_SYS_UNKNOWN);
    }

    #[test]
    fn boxed_errors_and_messages_convert() {
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(Outer(std::io::Error::other("x")));
        let err: AppError = boxed.into();
        assert_eq!(err.message(), "Background task failed: outer failed");
        assert!(err.downcast_ref::<Outer>().is_some());
        assert_eq!(err.details(), Some("outer failed\ncaused by: x"));
        let err: AppError = "plain message".into();
        assert_eq!(err.message(), "Background task failed: plain message");
        let err: AppError = String::from("owned").into();
        assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
    }

    #[test]
    fn clones_share_until_edited() {
        let a = AppError::new("ERR_X", "boom");
        let b = a.clone().with_context("k", "v");
        assert!(a.context().is_empty());
        assert_eq!(b.context()["k"], "v");
    }
}
