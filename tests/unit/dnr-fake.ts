/**
 * WXT's fakeBrowser has no declarativeNetRequest (it throws "not implemented");
 * this gives it an in-memory dynamic ruleset so the background's rule updates
 * can be checked.
 */
import { fakeBrowser } from 'wxt/testing';

type Rule = { id: number; condition: { urlFilter?: string; resourceTypes?: string[] }; action: { type: string } };

export function installFakeDnr(): { rules(): Rule[] } {
  let rules: Rule[] = [];
  const dnr = fakeBrowser.declarativeNetRequest as unknown as Record<string, unknown>;
  dnr.updateDynamicRules = async (options: { removeRuleIds?: number[]; addRules?: Rule[] }) => {
    rules = rules.filter((r) => !(options.removeRuleIds ?? []).includes(r.id));
    for (const rule of options.addRules ?? []) {
      if (rules.some((r) => r.id === rule.id)) throw new Error(`Rule with id ${rule.id} already exists`);
      rules.push(rule);
    }
  };
  dnr.getDynamicRules = async () => rules;
  return { rules: () => rules };
}
