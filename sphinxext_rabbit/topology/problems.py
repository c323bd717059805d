"""Every problem the extension reports: its code, what causes it and how to fix it.

The reference page in sample_docs is generated from this table, and a test checks that
every code the code reports is here, so the page cannot go stale.
"""

from __future__ import annotations

from .model import ProblemCode, Severity

#: code -> (severity, what causes it, how to fix it); warnings carry type "rabbitmq"
CATALOG: dict[ProblemCode, tuple[Severity, str, str]] = {
    "parse": ("error", "The file is not valid JSON or YAML, not UTF-8, nested too deeply "
              "to read, or holds an integer of more digits than Python reads (4,300); the "
              "message gives the line the parser stopped at.",
              "Fix the syntax at that line; re-export the definitions from the broker."),
    "io": ("error", "The file cannot be read (missing, no permission), or is no regular "
           "file (a folder, a FIFO, a device such as /dev/zero, a socket): only regular "
           "files are read.",
           "Check the path: it is relative to the document, or to the source directory "
           "when it starts with '/'."),
    "limit": ("error", "The file is larger than rabbitmq_topology_max_file_bytes, a YAML "
              "file uses more than 100 aliases, or a value nests more than 32 levels; or "
              "(a warning) a diagram would have more nodes than rabbitmq_topology_max_nodes, "
              "or dot did not lay it out within rabbitmq_topology_dot_timeout seconds "
              "(killed), and is shown as text (the command line's render: --dot-timeout, "
              "an error, no image written); or render would write a picture longer than "
              "--max-side (4,000 pt) on a side, too small to read shown whole (an error, "
              "no image written).",
              "Split the file or raise rabbitmq_topology_max_file_bytes; remove the "
              "aliases or the nesting; draw a part with :focus:, or narrow the diagram with "
              ":vhost:/:include:/:exclude:, or raise rabbitmq_topology_max_nodes or "
              "rabbitmq_topology_dot_timeout; "
              "group it more (--collapse, --node-budget) or raise --max-side."),
    "schema": ("error", "An entry has the wrong shape: not an object, a name that is not a "
               "string, a flag that is not true/false, arguments that are not an object. "
               "Entries that cannot be drawn are skipped; the rest is drawn.",
               "Correct the field the message names, at the line it gives."),
    "unknown-field": ("warning", "A field the broker's exports do not have (often a typo).",
                      "Remove or rename the field."),
    "duplicate": ("warning", "The same exchange or queue is declared twice in one vhost; "
                  "the later declaration is used.", "Remove one of the two."),
    "vhost": ("warning", "A per-vhost export does not name its vhost, an entity has no "
              "vhost, or :vhost: names a vhost the file does not have (an error).",
              "Give the vhost with :vhost: (or --vhost), or pick one the message lists."),
    "destination-type": ("error", "A binding's destination_type is neither 'queue' nor "
                         "'exchange'; the broker would refuse it, so it is not drawn.",
                         "Set destination_type to 'queue' or 'exchange'."),
    "policy-pattern": ("error", "A policy's pattern is not a valid PCRE regular expression "
                       "(the broker would refuse it); the policy is ignored.",
                       "Fix the pattern."),
    "pattern-limit": ("warning", "PCRE gives up on a name at its match limit: a policy's "
                      "pattern, or an 're:' include/exclude pattern, backtracks "
                      "catastrophically on it (such as ^(a|aa)+$ on a long name). The broker "
                      "counts the name as not matched, and so does the drawing.",
                      "Rewrite the pattern so it cannot backtrack so much: no nested "
                      "quantifiers such as (a+)+, or an atomic group (?>...)."),
    "uri": ("warning", "A shovel's or federation upstream's URI is not an AMQP URI "
            "(amqp://HOST[:PORT][/VHOST] or amqps://...), such as a placeholder "
            "('CEGA_CONNECTION') that a deployment fills in. That end is drawn as an external "
            "endpoint named as written; a value that holds an '@' after a scheme but cannot "
            "be read as a URI is shown as '(redacted)', as it may hold a password.",
            "Write the broker's URI, or accept the placeholder (suppress with rabbitmq.uri)."),
    "dangling": ("error", "A binding, dead-letter or alternate exchange setting, or a "
                 "federation policy refers to something not declared. It is drawn marked "
                 "'missing'.", "Declare the entity, or fix the name."),
    "policy-tie": ("warning", "Two policies (or operator policies) with the same priority "
                   "match one entity; the broker picks one unpredictably.",
                   "Give one of them a higher priority."),
    "exchange-type": ("warning", "An exchange has a type that neither RabbitMQ nor its "
                      "plugins define; it is drawn as a generic exchange.",
                      "Check the type, or suppress with rabbitmq.exchange-type."),
    "empty-selection": ("warning", ":include:/:exclude: match no exchange or queue.",
                        "Check the patterns: globs match whole names; 're:' searches."),
    "option": ("warning", "A directive option is invalid, such as a regular expression "
               "that does not compile or a :width: that is no length (then drawn without it), "
               "or so is a rabbitmq_topology_width or rabbitmq_topology_align in conf.py.",
               "Fix the option."),
    "path": ("warning", "The definitions file lies outside the source directory, or a file "
             "in a folder source leads out of it (a symbolic link); that file is not read, the "
             "rest of the folder is.",
             "Move it in, or list its folder in rabbitmq_topology_allowed_dirs."),
    "cluster": ("warning", "Kubernetes manifests name more than one RabbitMQ cluster; they "
                "are drawn as one broker.",
                "Give each cluster's manifests their own directive (a file or folder each)."),
    "override": ("warning", "When several sources are merged, a later one declares an "
                 "exchange, queue, policy or parameter an earlier one already declared; the "
                 "later one is used.",
                 "Expected for an overlay; otherwise remove one of the two declarations."),
    "source": ("warning", "A source cannot be used as written: a URL with a user or password "
               "in it (credentials belong in the environment or conf.py), a folder with "
               "nothing to read, or a file that is neither an export, saved API output nor "
               "Kubernetes manifests.",
               "Name a configured broker, set the password variable, or fix the path."),
    "fetch": ("warning", "A live broker could not be read (wrong password, unknown host, "
              "refused connection, timeout, TLS failure, unknown vhost, no management "
              "plugin, not JSON, or past a fetch's limits: its deadline, 1,000 pages of a "
              "list, 256 MiB of answers). The last snapshot is drawn when there is one, else "
              "nothing; the message says which, and how old the snapshot is.",
              "Do what the message says; set rabbitmq_topology_snapshot_dir so builds "
              "without the broker still draw."),
    "snapshot": ("warning", "The snapshot of a live broker that was just fetched cannot be "
                 "written into rabbitmq_topology_snapshot_dir (a file where the folder should "
                 "be, no permission, a full disk); the page is drawn from the broker as "
                 "fetched, and the previous snapshot, if any, stays as it was.",
                 "Make the folder writable, or point rabbitmq_topology_snapshot_dir elsewhere."),
    "drift": ("warning", "With :compare: (or rabbitmq_topology_compare), what the page draws "
              "differs from the other source: one warning per difference.",
              "Update the definitions the page draws, or the broker."),
    "dead-letter-cycle": ("warning", "Queues dead-letter into each other in a cycle that "
                          "every message on it takes (the dead-letter exchanges' bindings "
                          "match whatever its headers, with the keys the dead-letter routing "
                          "keys set), and every queue on it expires messages (a message TTL "
                          "by argument, policy or operator policy). The broker drops a "
                          "message that comes back to a queue it expired in, unless a "
                          "consumer rejected it on the way: what expires there is lost. A "
                          "queue that dead-letters to itself (often through the default "
                          "exchange and a catch-all policy) is the shortest such cycle. The "
                          "message names the queues in order.",
                          "Dead-letter one queue of the cycle somewhere else (a parking "
                          "queue without a TTL), or exclude the dead-letter queue from the "
                          "policy that gives it a dead-letter exchange."),
    "default-exchange-binding": ("warning", "A binding whose source is the default exchange "
                                 "(\"\" or amq.default). The broker refuses it: the default "
                                 "exchange routes to every queue by its name and cannot be "
                                 "bound. Exports never hold one; hand-written files and "
                                 "manifests may.",
                                 "Remove the binding; bind a queue to another exchange, or "
                                 "publish to the default exchange with the queue's name."),
    "x-match": ("warning", "A headers exchange's binding has an x-match the broker refuses "
                "(anything but all, any, all-with-x or any-with-x, or not a string); it "
                "would not be declared, and an old broker that took it matches as all.",
                "Set x-match to all, any, all-with-x or any-with-x."),
    "policy-matches-nothing": ("warning", "A policy's (or operator policy's) pattern matches "
                               "no entity of its apply-to kind declared in its vhost, so it "
                               "does nothing there: often a typo in the pattern or in "
                               "apply-to, or queues that were renamed. A source that declares "
                               "no queue (or, for exchange policies, no exchange) at all, such "
                               "as a saved policies endpoint or one manifest, is not checked.",
                               "Fix the pattern or apply-to; a policy kept on purpose for "
                               "entities that applications declare later can be silenced "
                               "with suppress_warnings = ['rabbitmq.policy-matches-nothing']."),
    "route": ("warning", "A rabbitmq-route directive's claim is not what the broker would "
              "do: the queues the message surely lands in are not the :expect: list (or it "
              "is not unroutable when :expect: says unroutable), or its :exchange: does not "
              "exist. The message names what is expected and what is reached.",
              "Fix the claim, or the definitions, whichever went wrong."),
    "route-incomplete": ("warning", "A message's route (rabbitmq-route, sphinxext-rabbit "
                         "route) reaches something the definitions cannot answer for: a "
                         "binding's destination or a dead-letter exchange that does not exist "
                         "(the broker skips it, or drops what is dead-lettered to it), or an "
                         "exchange type whose routing is not known (x-jms-topic, "
                         "x-recent-history, plugins' types). The rest of the route is answered.",
                         "Declare the entity, or fix the name; for other exchange types the "
                         "answer stops at that exchange."),
    "route-refused": ("error", "The message is published to an internal exchange, which the "
                      "broker refuses (a channel error, nothing is routed).",
                      "Publish to an exchange that binds to the internal one."),
    "dot": ("warning", "Graphviz 'dot' (and graphviz-pure) is missing, or drawing failed; "
            "diagrams are shown as text.",
            "apt-get install graphviz, or pip install 'sphinxext-rabbit[dot]'."),
    "dot-warning": ("warning", "Graphviz dot (or graphviz-pure) drew the diagram but said "
                    "something on the way, such as a PNG too large for its bitmaps and "
                    "scaled down to fit, or a character whose width graphviz-pure does not "
                    "know; its words are passed on, at most 10 lines a diagram.",
                    "Draw large diagrams as SVG, or draw a part with :focus: or narrow them "
                    "with :vhost:/:include:/:exclude:; install Graphviz for graphviz-pure's "
                    "font widths; or "
                    "suppress rabbitmq.dot-warning."),
    "focus": ("warning", ":focus: (--focus) names an exchange or queue that the "
              "selection does not hold: a typo, an entity of a vhost that :vhost: leaves "
              "out, or one that :include:/:exclude: leave out. The message says which, with "
              "the closest name.", "Correct the name, or widen :vhost:/:include:."),
    "node-budget": ("warning", "A diagram has more nodes than its node budget "
                    "(rabbitmq_topology_node_budget or :node-budget:, the command line's "
                    "--node-budget; 40 by default) even after grouping alike queues and "
                    "exchanges into summary nodes (:collapse:), so it is too large to read on "
                    "a screen. It is drawn all the same.",
                    "Draw a part of it with :focus: or :include: (--focus, --include), or "
                    "group more with :collapse: GLOB; or raise the budget."),
    "target": ("warning", "A rabbitmq domain role's target cannot be read: a '{' that opens "
               "a vhost is not closed, or the vhost holds a '%' that starts no escape (%7D, "
               "%25, %2F) or escapes that are not UTF-8. The role is shown as written.",
               "Write {VHOST}NAME with the vhost's '}' as %7D and '%' as %25; write "
               "{}NAME for a name of the current vhost that starts with '{' or '!'."),
    "unknown-reference": ("warning", "A rabbitmq domain role names an entity that no "
                          "topology of the build holds (the sources the rabbitmq-topology "
                          "directives read, and rabbitmq_reference_sources): a typo, or an "
                          "entity renamed or deleted; the message suggests the closest name.",
                          "Fix the name, or the vhost ({VHOST}NAME or rabbitmq:vhost)."),
    "stale-description": ("warning", "A rabbitmq:vhost/exchange/queue/policy description is "
                          "of an entity that the reference topology (rabbitmq_reference_sources, "
                          "else every source the directives read) no longer holds.",
                          "Delete or rename the description, or fix its :vhost:."),
    "duplicate-description": ("warning", "The same entity (kind, vhost and name) is described "
                              "twice; references link to the first, in page-name order.",
                              "Keep one description; give the others :no-index:."),
    "coverage": ("warning", "The rabbitmq-coverage builder found a smaller share of the "
                 "reference topology's entities described than rabbitmq_coverage_threshold "
                 "(a percentage); the build fails.",
                 "Describe the entities its report lists, or lower the threshold."),
}
