// ESLint for the front-end's own code (make lint-js runs it from the repository root with
// `-c static_src/eslint.config.mjs`, so the patterns below are relative to the root). One dialect:
// native ES modules, const/let, function declarations for named functions and arrow functions for
// callbacks, braces on every block, and nothing shared through globals: a module exports what
// another one needs. Formatting is Prettier's (static_src/.prettierrc.json), not ESLint's.
import js from "@eslint/js";
import globals from "globals";

// Assignments that would share state between files through the global object.
const GLOBAL_OBJECTS = "/^(window|globalThis|self|document)$/";

export default [
  { ignores: ["static/vendor/**", "staticfiles/**", "**/node_modules/**"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    rules: {
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-undef": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: `AssignmentExpression > MemberExpression.left[object.name=${GLOBAL_OBJECTS}]`,
          message: "Export it from a module instead of putting it on the global object.",
        },
        {
          selector: `CallExpression[callee.object.name='Object'][callee.property.name=/^define/][arguments.0.name=${GLOBAL_OBJECTS}]`,
          message: "Export it from a module instead of putting it on the global object.",
        },
        {
          selector: "Program > ExpressionStatement > CallExpression > FunctionExpression",
          message: "No IIFE: a module has its own scope.",
        },
      ],
      "no-restricted-globals": ["error", "event", "name", "status", "length", "top", "parent"],
      "func-style": ["error", "declaration"],
      "prefer-arrow-callback": "error",
      "object-shorthand": ["error", "always"],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      eqeqeq: ["error", "always"],
      curly: ["error", "all"],
      "prefer-template": "error",
      "no-unused-vars": ["error", { caughtErrors: "none" }],
      strict: ["error", "never"],
    },
  },
  {
    files: ["static_src/**/*.{js,mjs}"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
