// ESLint (flat config) for the web interface's plain browser scripts (no build step).
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["service/linepatrol_service/ui/static/vendor/**", "node_modules/**"],
  },
  js.configs.recommended,
  {
    files: ["service/linepatrol_service/ui/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    rules: {
      "no-unused-vars": "error",
      eqeqeq: "error",
      curly: "error",
      "no-var": "error",
      "prefer-const": "error",
      strict: ["error", "function"],
    },
  },
];
