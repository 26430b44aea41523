// Custom search attributes the workflows set, so operators can filter in the Web UI.
// The dev server must be started with exactly these (see tools/stack/devserver.ts).

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TIER_KEY = defineSearchAttributeKey('BalanceTier', SearchAttributeType.KEYWORD);
/** What a workflow is: tier, sweep or batch. */
export const KIND_KEY = defineSearchAttributeKey('BalanceWorkflowKind', SearchAttributeType.KEYWORD);

/** Name=Type pairs as the Temporal CLI's `--search-attribute` flag takes them. */
export const SEARCH_ATTRIBUTE_FLAGS = [`${TIER_KEY.name}=Keyword`, `${KIND_KEY.name}=Keyword`];
