export declare const GENERATED_HEADER: string;

export interface ReferrerDataTexts {
  searchEngines: string;
  socials: string;
  aiAssistants: string;
  additions: string;
}

export declare function convertReferrerData(texts: ReferrerDataTexts): {
  source: string;
  counts: Record<string, number>;
  warnings: string[];
};
