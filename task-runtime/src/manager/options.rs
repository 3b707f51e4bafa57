//! The options every task builder has, written once: [`TaskBuilder`](super::TaskBuilder) sets
//! them on itself, [`LocalTaskBuilder`](super::LocalTaskBuilder) on the `TaskBuilder` it
//! wraps. (Their callbacks differ: a local builder's stay on their thread. Their options do
//! not.)

/// The option methods of a builder; `|$this| $task` says where its `TaskBuilder` is.
macro_rules! task_options {
    (|$this:ident| $task:expr) => {
        /// Names the task (default `Task-<n>`, numbered per manager). Names need not be
        /// unique; [`TaskManager::cancel_task`](crate::TaskManager::cancel_task) and
        /// [`exclusive`](Self::exclusive) act on every active task of a name.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            let $this = &mut self;
            $task.options.name = Some(crate::task::name::GivenName::Owned(name.into()));
            self
        }

        /// Sets the priority (default 0): among queued tasks, higher runs first; equal
        /// priorities run in submission order. Running tasks are never preempted.
        pub fn priority(mut self, priority: i32) -> Self {
            let $this = &mut self;
            $task.options.priority = priority;
            self
        }

        /// Hands the task to the manager's progress display (off by default).
        pub fn show_progress(mut self, show: bool) -> Self {
            let $this = &mut self;
            $task.options.show_progress = show;
            self
        }

        /// Where this task's callbacks run; by default the manager's dispatcher.
        pub fn dispatcher(mut self, dispatcher: crate::dispatch::Dispatcher) -> Self {
            let $this = &mut self;
            $task.options.dispatcher = Some(dispatcher);
            self
        }

        /// What to do with other active tasks of the same name; see
        /// [`Exclusive`](crate::Exclusive).
        pub fn exclusive(mut self, exclusive: crate::vocabulary::Exclusive) -> Self {
            let $this = &mut self;
            $task.options.exclusive = Some(exclusive);
            self
        }

        /// A deadline, counted from `start()`. When it passes, the task is cancelled (its
        /// body sees [`TaskContext::is_cancelled`](crate::TaskContext::is_cancelled)), and
        /// its outcome is *failed* with [`ERR_TASK_TIMEOUT`](crate::codes::ERR_TASK_TIMEOUT)
        /// (severity `Warning`, context `timeout_ms`), whatever the body then returns,
        /// delivered to `on_error` once the body has returned. A task still queued at its
        /// deadline never runs: its outcome is decided at the deadline, even when no worker
        /// is free. A cancellation made before the deadline gives *cancelled*, as without one.
        ///
        /// Every duration is accepted: `Duration::ZERO` fails the task before its body can
        /// run, `Duration::MAX` never fires. Deadlines share one timer thread per manager,
        /// started by the first one and asleep while none is due.
        ///
        /// ```
        /// use std::time::Duration;
        /// use task_runtime::{codes, AppError, TaskError, TaskManager};
        ///
        /// let manager = TaskManager::new(1);
        /// let slow = manager
        ///     .task(|ctx| {
        ///         while !ctx.is_cancelled() {
        ///             std::thread::sleep(Duration::from_millis(1));
        ///         }
        ///         Ok::<_, AppError>("finished anyway")
        ///     })
        ///     .timeout(Duration::from_millis(20))
        ///     .start();
        /// match slow.join() {
        ///     Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        ///     other => panic!("{other:?}"),
        /// }
        /// ```
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            let $this = &mut self;
            $task.options.timeout = Some(timeout);
            self
        }

        /// Starts the task in `scope` (the same as `scope.task(f)`): dropping the scope
        /// cancels it and silences its callbacks. See [`TaskScope`](crate::TaskScope). A
        /// `&TaskScope` works too. The task runs on the scope's manager (a scope made by
        /// another manager than this builder's takes the task there, with that manager's
        /// dispatcher as its default).
        pub fn scope(mut self, scope: &crate::scope::ScopeHandle) -> Self {
            let $this = &mut self;
            $task.options.scope = Some(std::sync::Arc::clone(scope.node()));
            $task.admission = std::sync::Arc::clone(scope.admission());
            self
        }

        /// Bounds the items waiting to be delivered (or, without `on_items`, taken): while `n`
        /// wait, [`Publisher::publish`](crate::Publisher::publish) blocks until a delivery
        /// takes them or the task is cancelled. By default there is no bound. `0` counts as 1.
        pub fn max_pending_items(mut self, n: usize) -> Self
        where
            P: Send + 'static,
        {
            let $this = &mut self;
            if let Some(items) = &$task.items {
                items.limit(n);
            }
            self
        }

        /// At most `n` items of a [`map`](crate::TaskManager::map) or
        /// [`for_each`](crate::TaskManager::for_each) run at once (their async forms: at most
        /// `n` futures in flight). By default, the manager's `max_threads` when the task
        /// starts. A task of one body has nothing to spread and ignores it.
        ///
        /// # Panics
        ///
        /// If `n` is 0, as [`TaskManager::new(0)`](crate::TaskManager::new) does.
        ///
        /// # Examples
        ///
        /// ```
        /// use task_runtime::{AppError, TaskManager};
        ///
        /// let manager = TaskManager::new(4);
        /// // Two downloads at a time, whatever the pool's size.
        /// let sizes = manager
        ///     .map_async(["a", "bb", "ccc"], |_, name| async move { Ok::<_, AppError>(name.len()) })
        ///     .parallelism(2)
        ///     .start();
        /// assert_eq!(sizes.join().unwrap(), [1, 2, 3]);
        /// ```
        #[track_caller]
        pub fn parallelism(mut self, n: usize) -> Self {
            assert!(
                n > 0,
                "TaskBuilder::parallelism(0): at least one item must be able to run"
            );
            let $this = &mut self;
            $task.body.limit(n);
            self
        }

        /// [`name`](Self::name) for a name fixed at compile time (the macros' `task_name`):
        /// kept as a reference, never copied.
        pub(crate) fn static_name(mut self, name: &'static str) -> Self {
            let $this = &mut self;
            $task.options.name = Some(crate::task::name::GivenName::Static(name));
            self
        }
    };
}

pub(super) use task_options;
